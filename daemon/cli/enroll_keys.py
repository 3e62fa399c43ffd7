"""The ssh keys ``deployd init`` deals with: the deploy key it makes for an ssh repository, the
git server's host keys it records, and this host's own key it shows (for secrets recipients).

Each step either succeeds or raises :class:`EnrollError` with what to do; a key that already
exists is reused, so running ``deployd init`` again never replaces a deploy key that the git
server already knows.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

HOST_KEYS = (
    Path("/etc/ssh/ssh_host_ed25519_key.pub"),
    Path("/etc/ssh/ssh_host_rsa_key.pub"),
)


class EnrollError(Exception):
    """``deployd init`` cannot go on: ``str()`` says what is wrong and what to do."""


def ssh_server(url: str) -> tuple[str, int | None]:
    """The git server's host and port of an ssh URL (``ssh://`` or ``[user@]host:path``)."""
    if "://" in url:
        parts = urlsplit(url)
        try:
            port = parts.port
        except ValueError as error:
            raise EnrollError(f"{url}: not a valid URL ({error})") from None
        return parts.hostname or "", port
    authority = url.split(":", 1)[0]
    return authority.rpartition("@")[2].strip("[]"), None


def deploy_key(path: Path, comment: str) -> tuple[str, bool]:
    """The public half of the deploy key at ``path`` (made if missing, without a passphrase:
    nobody is there to type one), and whether it was made now."""
    made = False
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        command = ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)]
        _run(command, "make the deploy key", "install openssh-client")
        made = True
    public = Path(f"{path}.pub")
    if not public.exists():
        text = _run(["ssh-keygen", "-y", "-f", str(path)], "read the deploy key", "check the file")
        public.write_text(text)
    os.chmod(path, 0o600)
    return public.read_text().strip(), made


def known_hosts(path: Path, host: str, port: int | None) -> tuple[list[str], bool]:
    """Fingerprints of the git server's host keys in ``path``, scanned with ``ssh-keyscan`` when
    the file does not exist yet (trust on first use: the operator is shown the fingerprints to
    compare), and whether it was scanned now."""
    scanned = False
    if not path.exists():
        command = ["ssh-keyscan", "-T", "10", *(["-p", str(port)] if port else []), host]
        found = _run(command, f"ask {host} for its host keys", "install openssh-client")
        if not found.strip():
            where = f"{host} port {port or 22}"
            raise EnrollError(
                f"ssh-keyscan got no host key from {where}: check the repository URL and that "
                f"this host can reach {where}; or write the server's keys to {path} yourself "
                "and run this command again"
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(found)
        scanned = True
    listing = _run(["ssh-keygen", "-l", "-f", str(path)], f"read {path}", f"check {path}")
    return [line for line in listing.splitlines() if line.strip()], scanned


def host_public_key(candidates: tuple[Path, ...] = HOST_KEYS) -> tuple[Path, str] | None:
    """This machine's SSH host key (ed25519 first), which encrypts secrets for this host."""
    for candidate in candidates:
        try:
            return candidate, candidate.read_text().strip()
        except OSError:
            continue
    return None


def _run(command: list[str], what: str, otherwise: str) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    except FileNotFoundError:
        raise EnrollError(f"cannot {what}: {command[0]} is not installed ({otherwise})") from None
    except subprocess.TimeoutExpired:
        raise EnrollError(f"cannot {what}: {command[0]} took longer than 60 s") from None
    if done.returncode != 0:
        detail = done.stderr.strip().splitlines()[-1:] or [f"exit status {done.returncode}"]
        raise EnrollError(f"cannot {what}: {detail[0]} ({otherwise})")
    return done.stdout


__all__ = ["EnrollError", "HOST_KEYS", "deploy_key", "host_public_key", "known_hosts", "ssh_server"]
