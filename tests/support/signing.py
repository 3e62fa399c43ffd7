"""Real signing keys and signed commits for the trust tests.

``ssh_key(dir, name)`` makes an ed25519 key with ``ssh-keygen``; ``allowed_signers(path,
{principal: key})`` writes git's allowed-signers file; ``gpg_key(dir, "Name <mail>")`` makes an
OpenPGP key in a home of its own and exports its public key. ``signed_commit`` commits with
``git commit -S`` (ssh or openpgp), ``signed_merge`` merges with ``git merge -S``.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.support.helpers import GIT_ENV, write_tree


@dataclass(frozen=True)
class SshKey:
    private: Path
    public: Path

    @property
    def line(self) -> str:
        return self.public.read_text().strip()

    @property
    def fingerprint(self) -> str:
        out = subprocess.run(
            ["ssh-keygen", "-l", "-E", "sha256", "-f", str(self.public)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        return out.split()[1]

    def signing(self) -> list[str]:
        return ["-c", "gpg.format=ssh", "-c", f"user.signingkey={self.private}"]


@dataclass(frozen=True)
class GpgKey:
    home: Path
    fingerprint: str
    public: Path  # the exported public key (armored)

    def signing(self) -> list[str]:
        return ["-c", "gpg.format=openpgp", "-c", f"user.signingkey={self.fingerprint}"]


def ssh_key(directory: Path, name: str) -> SshKey:
    directory.mkdir(parents=True, exist_ok=True)
    private = directory / name
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(private)],
        check=True,
    )
    return SshKey(private, directory / f"{name}.pub")


def allowed_signers(path: Path, signers: dict[str, SshKey]) -> Path:
    lines = [f'{who} namespaces="git" {key.line}' for who, key in signers.items()]
    path.write_text("".join(f"{line}\n" for line in lines))
    return path


def stop_agents(*keys: GpgKey) -> None:
    """End the gpg-agent each key's home started (key generation and signing need one)."""
    for key in keys:
        subprocess.run(["gpgconf", "--homedir", str(key.home), "--kill", "all"], check=False)


def gpg_key(directory: Path, user_id: str) -> GpgKey:
    """A key in a home of its own; its gpg-agent runs until ``stop_agents``. Keep
    ``directory`` short: the agent's socket path is limited to 108 bytes."""
    home = directory / f"gnupg-{abs(hash(user_id))}"
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    env = {**os.environ, "GNUPGHOME": str(home)}
    run = ["gpg", "--batch", "--quiet", "--passphrase", ""]
    subprocess.run(
        [*run, "--quick-gen-key", user_id, "ed25519", "sign", "never"], env=env, check=True
    )
    listing = subprocess.run(
        ["gpg", "--with-colons", "--list-keys", user_id],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    fingerprint = next(line.split(":")[9] for line in listing.splitlines() if line[:4] == "fpr:")
    public = directory / f"{fingerprint}.asc"
    exported = subprocess.run(
        ["gpg", "--armor", "--export", fingerprint], env=env, capture_output=True, check=True
    )
    public.write_bytes(exported.stdout)
    return GpgKey(home, fingerprint, public)


def _git(repo: Path, key: SshKey | GpgKey | None, *args: str) -> str:
    env = {**os.environ, **GIT_ENV}
    if isinstance(key, GpgKey):
        env["GNUPGHOME"] = str(key.home)
    sign = key.signing() if key else []
    done = subprocess.run(
        ["git", *sign, *args], cwd=repo, env=env, check=True, capture_output=True, text=True
    )
    return done.stdout.strip()


def signed_commit(
    repo: Path, key: SshKey | GpgKey | None, files: dict[str, str], message: str = "change"
) -> str:
    """Commit ``files``; signed with ``key`` (None: unsigned). Returns the commit."""
    write_tree(repo, files)
    _git(repo, None, "add", "-A")
    _git(repo, key, "commit", "-q", *(["-S"] if key else []), "--allow-empty", "-m", message)
    return _git(repo, None, "rev-parse", "HEAD")


def signed_merge(repo: Path, key: SshKey | GpgKey | None, branch: str) -> str:
    sign = ["-S"] if key else []
    _git(repo, key, "merge", "-q", "--no-ff", *sign, "-m", f"merge {branch}", branch)
    return _git(repo, None, "rev-parse", "HEAD")
