"""The host's own keys for age: its SSH host keys, or age identity files.

An identity file is either an unencrypted OpenSSH private key (``/etc/ssh/ssh_host_ed25519_key``,
the RSA host key) or an age identity file (``AGE-SECRET-KEY-1...`` lines, ``#`` comments), as
``age-keygen`` writes it. Keys are read into memory by pyrage; nothing is copied anywhere.

Each identity also knows its *public* side, so a refusal can say which key the host has and
what to add to the repository (``deployd secrets add-host ... --key "ssh-ed25519 ..."``).
"""

from __future__ import annotations

import base64
import binascii
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from components_runtime.secrets import ssh_fingerprint

# The host's SSH host keys, in the order age's own tools would try them.
DEFAULT_IDENTITIES = (
    Path("/etc/ssh/ssh_host_ed25519_key"),
    Path("/etc/ssh/ssh_host_rsa_key"),
)
_OPENSSH = "-----BEGIN OPENSSH PRIVATE KEY-----"


class IdentityError(Exception):
    """An identity file that cannot be used; ``str()`` says which and why."""


@dataclass(frozen=True)
class Identity:
    path: Path
    public: str  # "ssh-ed25519 AAAA..." or "age1..."
    key: Any = field(repr=False, compare=False)  # the pyrage identity (holds the private key)

    @property
    def fingerprint(self) -> str:
        """``SHA256:...`` for an SSH key (as ``ssh-keygen -l`` prints it); the recipient for age."""
        return ssh_fingerprint(self.public) if self.public.startswith("ssh-") else self.public


@dataclass(frozen=True)
class Identities:
    keys: tuple[Identity, ...] = ()
    problems: tuple[str, ...] = ()  # identity files that exist but cannot be used
    tried: tuple[Path, ...] = ()  # every path looked at

    def pyrage(self) -> list[Any]:
        return [identity.key for identity in self.keys]


def load_identities(paths: tuple[Path, ...] | list[Path] | None) -> Identities:
    """Read the identity files. ``None`` means the host's SSH host keys, those that exist (a
    host without an RSA key is normal); files named explicitly must all be usable."""
    explicit = paths is not None
    candidates = tuple(Path(p) for p in paths) if paths is not None else DEFAULT_IDENTITIES
    keys, problems = [], []
    for path in candidates:
        try:
            keys.extend(read_identity_file(path))
        except FileNotFoundError:
            if explicit:
                problems.append(f"{path}: no such file")
        except IdentityError as error:
            problems.append(str(error))
    return Identities(tuple(keys), tuple(problems), candidates)


def read_identity_file(path: Path) -> list[Identity]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise
    except OSError as error:
        raise IdentityError(f"{path}: cannot read it: {error.strerror}") from None
    text = data.decode("utf-8", errors="replace")
    if text.lstrip().startswith("-----BEGIN"):
        return [_ssh_identity(path, data, text)]
    return _age_identities(path, text)


def _ssh_identity(path: Path, data: bytes, text: str) -> Identity:
    from pyrage import ssh

    public = _openssh_public_key(text) if text.lstrip().startswith(_OPENSSH) else None
    if public is None:
        public = _public_key_file(path)
    try:
        key = ssh.Identity.from_buffer(data)
    except Exception as error:  # pyrage raises its own IdentityError or ValueError
        raise IdentityError(
            f"{path}: not a usable SSH private key ({error}); an encrypted key cannot be "
            "used unattended"
        ) from None
    if public is None:
        raise IdentityError(f"{path}: its public key is unknown (put it next to it as {path}.pub)")
    return Identity(path, public, key)


def _age_identities(path: Path, text: str) -> list[Identity]:
    from pyrage import x25519

    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            key = x25519.Identity.from_str(line)
        except Exception:
            # never the line itself: it may be a private key with a typo
            raise IdentityError(
                f"{path}:{number}: not an age identity (AGE-SECRET-KEY-1...) nor an "
                "OpenSSH private key"
            ) from None
        found.append(Identity(path, str(key.to_public()), key))
    if not found:
        raise IdentityError(f"{path}: holds no key")
    return found


def _openssh_public_key(text: str) -> str | None:
    """The public key stored in clear inside an OpenSSH private key file."""
    body = "".join(line for line in text.splitlines() if not line.startswith("-----"))
    try:
        data = base64.b64decode(body)
        magic = b"openssh-key-v1\0"
        if not data.startswith(magic):
            return None
        offset = len(magic)
        for _ in range(3):  # cipher name, kdf name, kdf options
            (size,) = struct.unpack(">I", data[offset : offset + 4])
            offset += 4 + size
        offset += 4  # number of keys
        (size,) = struct.unpack(">I", data[offset : offset + 4])
        blob = data[offset + 4 : offset + 4 + size]
        (name_size,) = struct.unpack(">I", blob[:4])
        kind = blob[4 : 4 + name_size].decode("ascii")
    except (binascii.Error, ValueError, struct.error, UnicodeDecodeError):
        return None
    return f"{kind} {base64.b64encode(blob).decode()}"


def _public_key_file(path: Path) -> str | None:
    try:
        words = path.with_name(path.name + ".pub").read_text().split()
    except OSError:
        return None
    return " ".join(words[:2]) if len(words) >= 2 else None


__all__ = [
    "DEFAULT_IDENTITIES",
    "Identities",
    "Identity",
    "IdentityError",
    "load_identities",
    "read_identity_file",
]
