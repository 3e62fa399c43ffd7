"""Commit signatures, read by git itself, judged against the host's ``[trust]`` policy.

:func:`read_signatures` runs one ``git log`` over the new commits with git's own signature
placeholders (``%G?``, ``%GS``, ``%GK``, ``%GF``, ``%GP``): git calls ``ssh-keygen`` with the
configured allowed-signers file and ``gpg`` with a home directory holding only the configured
keyring (:mod:`daemon.git.gnupg`). Nothing here parses a signature. Both are always set, so a
policy with only one kind still sees the other kind as "signer not allowed", never as unsigned,
and root's own ``~/.gnupg`` is never consulted.

:func:`judge` is pure: the commits (oldest first) and the policy in, the first refusal out.
"""

from __future__ import annotations

import os
import secrets
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from daemon.config import TrustPolicy, normalise_member
from daemon.git.gnupg import gnupg_home, within_reach
from daemon.records import SignatureRefusal

# git's %G? letters -> our refusal reason. G is the only good one: a good signature by a key
# that is in the allowed set (U: good, but the key is not in the allowed-signers file).
_REASONS = {
    "N": "unsigned",
    "B": "bad-signature",
    "U": "signer-not-allowed",
    "E": "signer-not-allowed",  # the key is not in the keyring: it cannot be checked
    "X": "signer-not-allowed",  # an expired signature
    "Y": "signer-not-allowed",  # made by an expired key
    "R": "signer-not-allowed",  # made by a revoked key
}
_WHY = {
    "N": "carries no signature",
    "B": "has a signature that does not match its content (altered after signing)",
    "U": "is signed by a key that is not in the allowed signers",
    "E": "is signed by a key that is not in the keyring",
    "X": "has an expired signature",
    "Y": "is signed by an expired key",
    "R": "is signed by a revoked key",
}
_FIELDS = "%H%x1f%G?%x1f%GS%x1f%GK%x1f%GF%x1f%GP%x1f%P"
_CHUNK = 16  # commits at least per git process when a range is verified in parallel
_MAX_WORKERS = 8


class SignatureError(Exception):
    """git could not list or check the commits (names the command and what it said)."""


@dataclass(frozen=True)
class CommitSignature:
    sha: str
    status: str  # git's %G? letter
    identity: str = ""  # SSH principal from the allowed-signers file, or the OpenPGP user id
    key: str = ""  # SSH key fingerprint (SHA256:...) or OpenPGP key id
    fingerprint: str = ""  # OpenPGP: the signing key's fingerprint
    primary: str = ""  # OpenPGP: the primary key's fingerprint
    parents: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()  # what the commit changes (a merge: what differs from all parents)

    @property
    def signer_key(self) -> str:
        return self.fingerprint or self.key

    def names(self) -> set[str]:
        """Everything a group member may be written as to mean this signer."""
        names = {self.identity, self.key, self.fingerprint, self.primary}
        if "<" in self.identity and self.identity.endswith(">"):
            names.add(self.identity.rsplit("<", 1)[1][:-1])  # the e-mail of a user id
        return {normalise_member(n) for n in names if n}


@dataclass(frozen=True)
class Verifier:
    """How to run git on the mirror with the policy's files (see the module docstring)."""

    git_dir: Path
    allowed_signers: Path | None
    gnupg_home: Path
    timeout: float = 120.0

    def git(self, *args: str, stdin: str = "") -> str:
        signers = str(self.allowed_signers or os.devnull)
        command = [
            "git",
            "--git-dir",
            str(self.git_dir),
            "-c",
            "core.hooksPath=/dev/null",
            "-c",
            f"gpg.ssh.allowedSignersFile={signers}",
            "-c",
            "log.showSignature=false",
            *args,
        ]
        env = {
            **os.environ,
            "GNUPGHOME": str(self.gnupg_home),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "LC_ALL": "C",
        }
        try:
            done = subprocess.run(
                command,
                input=stdin.encode(),
                capture_output=True,
                env=env,
                timeout=self.timeout,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            raise SignatureError(f"git {args[0]}: {error}") from None
        if done.returncode != 0:
            why = done.stderr.decode(errors="replace").strip().splitlines()
            raise SignatureError(f"git {args[0]}: {why[-1] if why else done.returncode}")
        return done.stdout.decode(errors="surrogateescape")


def read_signatures(
    verifier: Verifier,
    base: str | None,
    head: str,
    with_paths: bool,
    workers: int | None = None,
) -> list[CommitSignature]:
    """The commits in ``base..head`` (``head`` alone without a base), oldest first, each with
    git's verdict on its signature and, ``with_paths``, the paths it changes.

    A long range is split over ``workers`` git processes (default: one per core, at most 8,
    at least 16 commits each): git starts a verifier process per signature, so the cores can
    share that work."""
    marker = f"\x1edeployd-{secrets.token_hex(8)}\x1f"  # a path cannot guess it
    args = ["log", "-z", f"--format={marker}{_FIELDS}"]
    if with_paths:
        args += ["--name-only", "--no-renames", "-c", "--no-ext-diff"]
    if base is None:
        outs = [verifier.git(*args, "-1", head, "--")]
    else:
        ids = verifier.git("rev-list", "--topo-order", f"{base}..{head}", "--").split()
        outs = _in_parallel(verifier, [*args, "--no-walk=unsorted", "--stdin"], ids, workers)
    commits = [_parse(chunk) for out in outs for chunk in out.split(marker)[1:]]
    return list(reversed(commits))


def _in_parallel(
    verifier: Verifier, args: list[str], ids: list[str], workers: int | None
) -> list[str]:
    """``git ARGS`` over ``ids`` (newest first) in up to ``workers`` processes, in order."""
    if not ids:
        return []
    wanted = workers or min(_MAX_WORKERS, os.cpu_count() or 1, -(-len(ids) // _CHUNK))
    size = -(-len(ids) // max(1, wanted))
    chunks = ["\n".join(ids[i : i + size]) + "\n" for i in range(0, len(ids), size)]
    if len(chunks) == 1:
        return [verifier.git(*args, stdin=chunks[0])]
    with ThreadPoolExecutor(len(chunks), thread_name_prefix="verify") as pool:
        return list(pool.map(lambda chunk: verifier.git(*args, stdin=chunk), chunks))


def changed_paths(verifier: Verifier, base: str, head: str) -> tuple[str, ...]:
    """Every path that differs between ``base`` and ``head`` (renames as delete + add)."""
    out = verifier.git("diff", "-z", "--name-only", "--no-renames", "--no-ext-diff", base, head)
    return tuple(p for p in out.split("\0") if p)


def _parse(chunk: str) -> CommitSignature:
    header, _, rest = chunk.partition("\0")
    sha, status, identity, key, fingerprint, primary, parents = header.split("\x1f")
    paths = tuple(p for p in rest.lstrip("\n").split("\0") if p)
    return CommitSignature(
        sha, status, identity, key, fingerprint, primary, tuple(parents.split()), paths
    )


def judge(
    commits: list[CommitSignature],
    policy: TrustPolicy,
    head: str,
    range_paths: tuple[str, ...] | None = None,
) -> SignatureRefusal | None:
    """The first refusal among ``commits`` (oldest first), or None when all may converge.

    Every commit needs a good signature from an allowed signer, and for each path it changes
    a signer from one group of every path rule that matches the path. ``range_paths`` (the
    head-only mode) are checked against the head's signer instead of each commit's own."""
    for commit in commits:
        if commit.status != "G":
            return _refusal(commit, head, _REASONS.get(commit.status, "bad-signature"))
        paths = range_paths if range_paths is not None else commit.paths
        names = commit.names()
        for path in paths:
            for rule in policy.rules_for(path):
                if not any(names & set(policy.members(group)) for group in rule.groups):
                    return _refusal(commit, head, "path-not-allowed", path, rule.groups)
    return None


def _refusal(
    commit: CommitSignature,
    head: str,
    reason: str,
    path: str = "",
    groups: tuple[str, ...] = (),
) -> SignatureRefusal:
    return SignatureRefusal(
        reason=reason,
        commit=commit.sha,
        head=head,
        signer=commit.identity,
        key=commit.signer_key,
        path=path,
        groups=groups,
        detail=_WHY.get(commit.status, f"has a signature git reports as {commit.status!r}")
        if reason != "path-not-allowed"
        else "",
    )


def check_commits(
    policy: TrustPolicy,
    git_dir: Path,
    state_dir: Path,
    base: str | None,
    head: str,
    timeout: float = 120.0,
) -> SignatureRefusal | None:
    """The policy's verdict on the commits that would move the host from ``base`` to ``head``.

    Every commit of ``base..head`` (merges and the commits they bring in included), or in the
    ``head`` mode the head alone with every path of the whole change. Without a base (a host
    with no history) the head alone, with the paths it changes itself. Raises SignatureError
    or KeyringError when git or gpg cannot run: nothing is admitted then either."""
    home = gnupg_home(state_dir, policy.gpg_keyring, timeout)
    with within_reach(home) as reachable:  # a deep state dir: gpg's sockets need a short path
        verifier = Verifier(git_dir, policy.allowed_signers, reachable, timeout)
        with_paths = bool(policy.paths)
        if base is None or policy.verify == "head":
            commits = read_signatures(verifier, None, head, with_paths and base is None)
            paths = changed_paths(verifier, base, head) if base and with_paths else None
            return judge(commits, policy, head, paths)
        return judge(read_signatures(verifier, base, head, with_paths), policy, head)
