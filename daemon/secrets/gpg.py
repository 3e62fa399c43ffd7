"""batou's gpg secrets, through the ``gpg`` binary (Debian ``gnupg``), with the host's keyring.

The keyring is ``gnupg_home`` (a setting; ``--gnupg-home`` for apply/check), else gpg's own
default (``$GNUPGHOME``, ``~/.gnupg``). The cleartext comes back on gpg's stdout, a pipe: it is
never written to a file. gpg runs in batch mode, so it never prompts.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

TIMEOUT = 60.0
_KEYID = re.compile(r"keyid ([0-9A-Fa-f]{8,16})")


class GpgError(Exception):
    def __init__(self, message: str, not_recipient: bool = False) -> None:
        super().__init__(message)
        self.not_recipient = not_recipient


@dataclass(frozen=True)
class GpgKey:
    keyid: str  # the 16-hex-digit id of an encryption (sub)key
    uid: str


def _command(gnupg_home: Path | None, *args: str) -> list[str]:
    home = ["--homedir", str(gnupg_home)] if gnupg_home else []
    return ["gpg", "--batch", "--no-tty", *home, *args]


def _run(command: list[str], data: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(
            command, input=data, capture_output=True, timeout=TIMEOUT, env=_environ()
        )
    except FileNotFoundError:
        raise GpgError(
            "gpg is not installed (Debian: apt-get install gnupg); it is needed for "
            "batou's .gpg secrets"
        ) from None
    except subprocess.TimeoutExpired:
        raise GpgError(f"gpg did not finish within {TIMEOUT:.0f}s") from None


def _environ() -> dict[str, str]:
    environ = dict(os.environ)
    environ.pop("GPG_AGENT_INFO", None)
    environ["LC_ALL"] = "C"  # stable messages to tell "not a recipient" apart
    return environ


def decrypt(path: Path, gnupg_home: Path | None) -> bytes:
    done = _run(_command(gnupg_home, "--quiet", "--decrypt", str(path)))
    if done.returncode == 0:
        return done.stdout
    message = done.stderr.decode("utf-8", errors="replace").strip()
    not_recipient = "No secret key" in message
    last = message.splitlines()[-1] if message else f"exit status {done.returncode}"
    raise GpgError(f"gpg cannot decrypt it: {last.removeprefix('gpg: ')}", not_recipient)


def recipients(path: Path, gnupg_home: Path | None = None) -> list[str]:
    """The key ids a gpg file is encrypted to, read from its packets (no key needed)."""
    done = _run(_command(gnupg_home, "--list-only", "--list-packets", str(path)))
    return _KEYID.findall(done.stdout.decode("ascii", errors="replace"))


def own_keys(gnupg_home: Path | None) -> list[GpgKey]:
    """The encryption keys whose secret part is in the keyring (what this host decrypts with)."""
    done = _run(_command(gnupg_home, "--list-secret-keys", "--with-colons"))
    keys, uid = [], ""
    for line in done.stdout.decode("utf-8", errors="replace").splitlines():
        fields = line.split(":")
        if fields[0] == "uid" and not uid:
            uid = fields[9]
        elif fields[0] in ("sec", "ssb") and "e" in fields[11 if len(fields) > 11 else -1]:
            keys.append(GpgKey(fields[4], uid))
        if fields[0] == "sec":
            uid = ""
    return [GpgKey(key.keyid, key.uid or uid) for key in keys]


__all__ = ["GpgError", "GpgKey", "decrypt", "own_keys", "recipients"]
