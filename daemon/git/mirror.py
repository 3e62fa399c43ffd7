"""The git side: a bare mirror in the state dir, a cheap poll, the ratchet, checkouts.

* :meth:`Mirror.remote_head` asks the remote for the branch head: one ``ls-remote`` round trip.
* :meth:`Mirror.fetch` fetches the branch into ``refs/deployd/upstream`` only when it moved.
* :func:`decide` applies the ratchet: only fast-forwards of the last deployed commit pass.
* :meth:`Mirror.checkout` exports one commit into ``checkouts/current`` (a stable path).

Hooks are disabled for every git command (``core.hooksPath=/dev/null``), git never prompts,
and every error text passes through :func:`redact` so tokens and passwords in the repository
URL never reach logs, status or run records. GitPython errors are translated into
:class:`FetchError` here, with ``transient`` telling the loop whether to retry with backoff.
"""

from __future__ import annotations

import configparser
import logging
import os
import re
import shutil
import signal
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

import git

from daemon.git.repair import damage_in, move_aside
from daemon.git.ssh import SshOptions, explain
from daemon.git.tree_check import altered, write_manifest
from daemon.git.urls import GIT_ENV, git_environment, normalise_url, redact
from daemon.records import CommitInfo

log = logging.getLogger(__name__)

UPSTREAM_REF = "refs/deployd/upstream"
RATCHET_REF = "refs/deployd/ratchet"
CURRENT = "current"  # checkouts/current: the work tree every run converges (see checkout)
COMMIT_MARKER = ".deployd-commit"  # in a checkout: the commit it holds
_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_GIT_CONFIG = ("-c", "core.hooksPath=/dev/null", "-c", "protocol.file.allow=always")


class FetchError(Exception):
    """A git operation failed. ``str()`` is already redacted and ends with the hint, if any."""

    def __init__(self, message: str, transient: bool = False, hint: str | None = None) -> None:
        super().__init__(redact(f"{message}. What to do: {hint}" if hint else message))
        self.transient = transient
        self.hint = hint


class MirrorDamaged(FetchError):
    """The mirror was damaged and has been moved aside: retried at once by the next poll."""

    def __init__(self, message: str) -> None:
        super().__init__(message, transient=True)


@dataclass(frozen=True)
class Decision:
    """What the ratchet allows: converge ``target``, or refuse with ``reason``."""

    target: str | None
    reason: str | None = None  # "not-fast-forward" when refused
    advanced: bool = False  # target is newer than the ratchet


class Mirror:
    """The bare mirror ``STATE/repo.git`` of one branch of one repository."""

    def __init__(
        self,
        path: Path,
        url: str,
        branch: str,
        timeout: float = 120.0,
        ssh: SshOptions | None = None,
    ) -> None:
        self.path = path
        self.url = normalise_url(url)
        # The URL may hold a token: never on a command line (see git_environment).
        ssh = ssh or SshOptions()
        self._ssh = SshOptions(ssh.key, ssh.known_hosts, min(ssh.connect_timeout, timeout))
        self._env = git_environment(self.url, self._ssh)
        self.branch = branch
        self.timeout = timeout
        self._repo: git.Repo | None = None
        self._upstream: str | None = None  # cached UPSTREAM_REF: a no-change poll is one command
        self._stopping = False

    @property
    def repo(self) -> git.Repo:
        if self._repo is None:
            self._repo = self._open()
        return self._repo

    def _open(self) -> git.Repo:
        if not (self.path / "HEAD").exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            git.Repo.init(self.path, bare=True)
        try:
            repo = git.Repo(self.path)
            with repo.config_writer() as config:
                config.set_value("core", "hooksPath", "/dev/null")
                config.set_value("gc", "auto", "0")
        except (git.InvalidGitRepositoryError, git.NoSuchPathError) as error:
            raise self._damaged("not a git repository any more: HEAD unreadable") from error
        except configparser.Error as error:
            raise self._damaged(f"its config is unreadable: {type(error).__name__}") from error
        return repo

    def _damaged(self, why: str) -> MirrorDamaged:
        """Move the damaged mirror aside (see daemon.git.repair); the next command starts a
        new one, and the next poll fetches everything again."""
        self._repo, self._upstream = None, None
        why = "".join(c if c.isprintable() else "?" for c in why)[:160]  # no raw garbage
        aside = move_aside(self.path, why)
        return MirrorDamaged(
            f"the mirror {self.path} was damaged ({why}): moved aside to {aside.name}; it is "
            "cloned anew at the next poll"
        )

    def _git(self, *args: str, timeout: float | None = None) -> str:
        """Run one git command in the mirror; translate failures into FetchError."""
        if self._stopping:  # abort() came before this command: it would not end it
            raise FetchError(f"git {args[0]}: not started, the daemon is stopping", True)
        try:
            return self.repo.git.execute(
                ["git", *_GIT_CONFIG, *args],
                env=self._env,
                kill_after_timeout=timeout or self.timeout,
                stdout_as_string=True,
                process_group=0,  # its own group, with its helpers: see abort()
            )
        except git.GitCommandError as error:
            if self._stopping:
                raise FetchError(f"git {args[0]}: stopped, the daemon is stopping", True) from None
            text = _printable((error.stderr or str(error)).strip().removeprefix("stderr:"))
            damage = damage_in(text, self.path)
            if damage:
                raise self._damaged(damage) from None
            if error.status == -9 or "did not complete in" in text:  # GitPython's kill
                text = f"timed out after {timeout or self.timeout:.0f}s (the [limits] fetch limit)"
            why = explain(text, self.url, self._ssh)
            raise FetchError(f"git {args[0]}: {why.summary}", why.transient, why.hint) from None
        except OSError as error:
            raise FetchError(f"git {args[0]}: {error}") from None

    @property
    def stopping(self) -> bool:
        """:meth:`abort` was called: git commands fail from now on, and that is no news."""
        return self._stopping

    def abort(self) -> None:
        """Stop the mirror's git commands in flight (the daemon is stopping): a poll of a hung
        server would hold the loop for up to the fetch limit, longer than systemd waits.
        Each runs in its own process group (git, its remote helper, ssh); a checkout's
        ``git archive`` stays in ours and is left alone. Safe in a signal handler."""
        self._stopping = True
        for group in _own_git_groups():
            try:
                os.killpg(group, signal.SIGTERM)
            except ProcessLookupError:
                pass

    # -- poll and fetch --------------------------------------------------------------------
    def remote_head(self) -> str:
        """The branch head on the remote (one ``ls-remote`` round trip)."""
        out = self._git("ls-remote", "origin", f"refs/heads/{self.branch}")
        for line in out.splitlines():
            sha, _, ref = line.partition("\t")
            if ref == f"refs/heads/{self.branch}":
                return sha
        raise FetchError(f"the repository has no branch {self.branch!r}")

    def local_head(self) -> str | None:
        if self._upstream is None:
            self._upstream = self.resolve(UPSTREAM_REF)
        return self._upstream

    def set_upstream(self, sha: str) -> None:
        """Point the upstream ref at ``sha`` (a bundle's head)."""
        self._git("update-ref", UPSTREAM_REF, sha)
        self._upstream = sha

    def fetch(self) -> str:
        """Fetch the branch into the mirror; return its head."""
        self._git(
            "fetch",
            "--no-tags",
            "--prune",
            "--",
            "origin",
            f"+refs/heads/{self.branch}:{UPSTREAM_REF}",
        )
        self._upstream = None
        head = self.local_head()
        if head is None:
            raise FetchError(f"fetch did not produce the branch {self.branch!r}")
        return head

    def fetch_bundle(self, bundle: Path) -> str:
        """Verify a git bundle and fetch its branch head into the mirror as a candidate."""
        try:
            self._git("bundle", "verify", str(bundle))
        except FetchError as error:
            raise FetchError(f"bundle {bundle.name} is not valid: {error}") from None
        ref = "refs/deployd/bundle"
        self._git("fetch", "--no-tags", "--", str(bundle), f"+refs/heads/{self.branch}:{ref}")
        sha = self.resolve(ref)
        if sha is None:
            raise FetchError(f"bundle {bundle.name} holds no branch {self.branch!r}")
        return sha

    def resolve(self, ref: str) -> str | None:
        try:
            return self._git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").strip()
        except MirrorDamaged:
            raise
        except FetchError:
            return None

    def commit_info(self, sha: str) -> CommitInfo:
        out = self._git("log", "-1", "--format=%H%x00%ct%x00%s", sha)
        full, stamp, subject = (out.split("\x00", 2) + ["", ""])[:3]
        return CommitInfo(
            sha=full, subject=subject, timestamp=float(stamp or 0), branch=self.branch
        )

    def file_at(self, sha: str, path: str) -> str | None:
        """The text of ``path`` in commit ``sha``, or None when the commit has no such file
        (the rollout policy of a commit is read this way, before anything is checked out)."""
        try:
            return self._git("show", f"{sha}:{path}")
        except FetchError:
            return None

    def is_ancestor(self, older: str, newer: str) -> bool:
        try:
            self._git("merge-base", "--is-ancestor", older, newer)
            return True
        except MirrorDamaged:  # "no" would refuse a good commit: say why instead
            raise
        except FetchError:
            return False

    def stored_ratchet(self) -> str | None:
        """The ratchet kept in the mirror (``refs/deployd/ratchet``), if the mirror and the ref
        exist; nothing is created here (start-up asks before the first fetch)."""
        if not (self.path / "HEAD").is_file():
            return None
        return self.resolve(RATCHET_REF)

    def set_ratchet(self, sha: str) -> None:
        """Keep the ratchet commit reachable in the mirror, even after a force-push."""
        self._git("update-ref", RATCHET_REF, sha)

    # -- checkout --------------------------------------------------------------------------
    def checkout(self, sha: str, checkouts: Path, keep: tuple[str, ...] = ()) -> Path:
        """Make ``sha`` the work tree at ``checkouts/current`` and return that path.

        Every commit is converged at the same real path, so the repository's venv (keyed by
        the paths in requirements.txt) and its editable ``-e ./pkg`` installs stay valid from
        one commit to the next: an editable install records the *resolved* source path, so a
        symlink would pin the venv to one commit's directory. The previous work tree is
        parked as ``checkouts/<its sha>`` when it is in ``keep`` (the last good commit stays
        intact until a newer run succeeds); every other directory is removed.
        """
        current = checkouts / CURRENT
        if checkout_commit(current) == sha and (why := altered(current)):
            log.warning("checkout: %s differs from %s (%s): exported again", current, sha[:12], why)
            os.replace(current, checkouts / f".old.{os.getpid()}")
        if checkout_commit(current) != sha:
            parked = checkouts / sha
            intact = checkout_commit(parked) == sha and not altered(parked)
            source = parked if intact else self._export(sha, checkouts)
            previous = checkout_commit(current)
            if previous and previous in keep and not (checkouts / previous).exists():
                os.replace(current, checkouts / previous)
            elif current.exists():  # renamed first: a crash never leaves half a tree here
                os.replace(current, checkouts / f".old.{os.getpid()}")
            os.replace(source, current)
        for old in checkouts.iterdir():
            if old.name not in (CURRENT, *keep):
                shutil.rmtree(old, ignore_errors=True)
        return current

    def _export(self, sha: str, checkouts: Path) -> Path:
        """``git archive`` of ``sha`` into a fresh directory under ``checkouts``, marked."""
        tmp = checkouts / f".{sha}.{os.getpid()}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        with tempfile.TemporaryFile() as stderr:
            archive = subprocess.Popen(
                ["git", *_GIT_CONFIG, "--git-dir", str(self.path), "archive", "--format=tar", sha],
                stdout=subprocess.PIPE,
                stderr=stderr,
                env={**os.environ, **GIT_ENV},
            )
            problem = _extract(archive, tmp)
            if archive.wait() != 0 or problem:
                shutil.rmtree(tmp, ignore_errors=True)
                stderr.seek(0)
                why = stderr.read().decode(errors="replace").strip() or problem
                raise FetchError(f"git archive {sha[:12]}: {why}")
        write_manifest(tmp)
        (tmp / COMMIT_MARKER).write_text(sha + "\n")
        return tmp


def _printable(text: str) -> str:
    """git's message as text every log handler, the state file and the API can carry. GitPython
    decodes stderr with surrogate escapes, so a byte that is not UTF-8 (a damaged bundle's
    header, a ref name) would stay a lone surrogate and break the encoders down the line; it
    is shown as ``\\xff`` instead."""
    text = text.strip(" '")
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a surrogate no decoder made: escape it as it is
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _extract_all(tar: tarfile.TarFile, target: Path) -> None:
    """``extractall`` with the "tar" filter: nothing lands outside ``target`` (also through a
    symlink the archive made before), no set-uid bits. Debian 12's Python 3.11.2 has no
    extraction filters (3.11.4 brought them), so there the same rules are applied here."""
    root = os.path.realpath(target)
    if hasattr(tarfile, "tar_filter"):

        def checked(member: tarfile.TarInfo, path: str) -> tarfile.TarInfo | None:
            _refuse_links_leaving(member, root)
            return tarfile.tar_filter(member, path)

        tar.extractall(target, filter=checked)
        return
    for member in tar:
        name = member.name.lstrip("/")
        destination = os.path.realpath(os.path.join(root, name))
        if os.path.commonpath([root, destination]) != root:
            raise tarfile.TarError(f"{member.name!r} would be extracted outside {target}")
        member.name = name
        _refuse_links_leaving(member, root)
        member.mode &= ~0o7022  # no set-uid, set-gid, sticky, group or other write bits
        tar.extract(member, root)


def _refuse_links_leaving(member: tarfile.TarInfo, root: str) -> None:
    """A symbolic link in the commit must stay inside the repository. The daemon runs as
    root: a link to ``/etc/shadow`` (or ``../../..``) would let whoever can push read any file
    of the host through a ``File(source=...)``, deploy it with the repository's modes and show
    it in the log's diff. Links are checked with the links unpacked before them resolved."""
    if not (member.issym() or member.islnk()):
        return
    name = member.name.lstrip("/")
    if member.issym():
        pointed = os.path.join(root, os.path.dirname(name), member.linkname)
    else:
        pointed = os.path.join(root, member.linkname)
    resolved = os.path.realpath(pointed)
    if os.path.isabs(member.linkname) or os.path.commonpath([root, resolved]) != root:
        raise tarfile.TarError(
            f"{name} is a symbolic link to {member.linkname}, outside the repository;"
            " deployd converges only what the commit holds: copy the file into the"
            " repository, or have a component read it by its absolute path"
        )


def _extract(archive: subprocess.Popen[bytes], target: Path) -> str:
    """Unpack git's tar stream into ``target``; return what went wrong, or "" when nothing did.
    The stream is always read to its end, so git never blocks on a full pipe."""
    assert archive.stdout is not None
    problem = ""
    try:
        with tarfile.open(fileobj=archive.stdout, mode="r|") as tar:
            _extract_all(tar, target)
    except tarfile.ReadError:
        # A commit without files gives an archive of only end-of-archive blocks, which tarfile
        # reads as "no header". git's own failures show in its exit status instead.
        pass
    except (tarfile.TarError, OSError) as error:
        problem = f"cannot unpack the commit into {target.parent}: {error}"
    finally:
        while archive.stdout.read(65536):
            pass
        archive.stdout.close()
    return problem


def _own_git_groups() -> list[int]:
    """Our child git processes that lead their own process group (see Mirror._git)."""
    me, groups = os.getpid(), []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            comm, _, rest = Path(f"/proc/{entry}/stat").read_text().rpartition(") ")
        except OSError:
            continue
        fields = rest.split()
        if comm.endswith("(git") and int(fields[1]) == me and int(fields[2]) == int(entry):
            groups.append(int(entry))
    return groups


def checkout_commit(work_tree: Path) -> str | None:
    """The commit a checkout directory holds (from its marker), or None."""
    try:
        text = (work_tree / COMMIT_MARKER).read_bytes().decode("ascii").strip()
    except (OSError, UnicodeDecodeError):  # a damaged marker: the tree is exported again
        return None
    return text if _SHA.fullmatch(text) else None


def decide(mirror: Mirror, ratchet: str | None, head: str) -> Decision:
    """The ratchet: converge ``head`` when it fast-forwards ``ratchet``; keep converging the
    ratchet when the remote is merely behind it; refuse a rewritten branch."""
    if ratchet is None or head == ratchet:
        return Decision(target=head, advanced=ratchet is None)
    if mirror.is_ancestor(ratchet, head):
        return Decision(target=head, advanced=True)
    if mirror.is_ancestor(head, ratchet):
        return Decision(target=ratchet)
    return Decision(target=None, reason="not-fast-forward")
