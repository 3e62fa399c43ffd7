"""Encrypting secrets files the way batou 2.7.1 reads them (for ``deployd secrets``).

* age: binary age files (as ``age -e`` writes them) to every ``members`` entry that is an SSH
  public key (``ssh-ed25519 ...``, ``ssh-rsa ...``) or an age recipient (``age1...``);
* age-diffable: the INI text with every value outside ``[batou]`` replaced by its own base64
  age file; a value that did not change keeps its ciphertext, so the diff shows what changed;
* gpg: ``gpg --encrypt -r MEMBER ...`` with the keyring of ``--gnupg-home``.

``age_keys.txt`` lists the age members' public keys, as batou keeps it next to the secrets.
"""

from __future__ import annotations

import base64
import io
import os
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from components_runtime.secrets import ValueSpan, replace_values, value_spans

AGE_KEYS_HEADER = (
    "# The public keys the age secrets of this environment are encrypted to,\n"
    "# one per member. Written by deployd secrets (batou writes it too) at every\n"
    "# encryption; read to tell which host or person each recipient is.\n"
)


class EncryptError(Exception):
    """Cannot encrypt: ``str()`` says why and what to do."""


def age_recipients(members: list[str]) -> list[Any]:
    from pyrage import ssh, x25519

    recipients = []
    for member in members:
        try:
            if member.startswith("ssh-"):
                recipients.append(ssh.Recipient.from_str(member))
            elif member.startswith("age1"):
                recipients.append(x25519.Recipient.from_str(member))
            elif member.startswith(("https://", "http://")):
                raise EncryptError(
                    f"members entry {member}: deployd does not download keys; put the keys "
                    "themselves into members"
                )
            else:
                raise EncryptError(
                    f"members entry {member!r} is neither an SSH public key nor an age "
                    "recipient (age1...)"
                )
        except EncryptError:
            raise
        except Exception as error:  # pyrage's RecipientError
            raise EncryptError(f"members entry {member!r} is not a valid key: {error}") from None
    if not recipients:
        raise EncryptError("no members to encrypt to: add keys to [batou] members")
    return recipients


def encrypt_age(data: bytes, members: list[str]) -> bytes:
    import pyrage

    out = io.BytesIO()
    pyrage.encrypt_io(io.BytesIO(data), out, age_recipients(members))
    return out.getvalue()


def encrypt_diffable(
    cleartext: str,
    members: list[str],
    file: str,
    previous: Mapping[tuple[str, str], tuple[str, str]] | None = None,
) -> str:
    """The age-diffable file for ``cleartext``. ``previous`` maps (section, lower-cased key) to
    (old cleartext, old ciphertext): an unchanged value keeps its ciphertext (empty to force
    new ciphertext for every value, after the members changed)."""
    spans, errors = value_spans(cleartext, file)
    if errors:
        raise EncryptError(f"{file}: line {errors[0].line}: {errors[0].message}")
    replaced: list[tuple[ValueSpan, str]] = []
    for span in spans:
        if span.section == "batou":
            continue
        old = (previous or {}).get((span.section, span.key.lower()))
        if old is not None and old[0] == span.value:
            replaced.append((span, old[1]))
        elif span.value == "":
            replaced.append((span, ""))
        else:
            data = encrypt_age(span.value.encode("utf-8"), members)
            replaced.append((span, base64.b64encode(data).decode("ascii")))
    return replace_values(cleartext, replaced)


def encrypt_gpg(data: bytes, members: list[str], gnupg_home: Path | None) -> bytes:
    if not members:
        raise EncryptError("no members to encrypt to: add gpg key ids to [batou] members")
    home = ["--homedir", str(gnupg_home)] if gnupg_home else []
    recipients = [arg for member in members for arg in ("-r", member)]
    try:
        done = subprocess.run(
            ["gpg", "--batch", "--no-tty", *home, "--encrypt", *recipients],
            input=data,
            capture_output=True,
            timeout=60,
        )
    except FileNotFoundError:
        raise EncryptError("gpg is not installed (Debian: apt-get install gnupg)") from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", errors="replace").strip().splitlines()
        raise EncryptError(f"gpg cannot encrypt: {message[-1] if message else done.returncode}")
    return done.stdout


def age_keys_text(members: list[str]) -> str:
    keys = [m for m in members if m.startswith(("ssh-", "age1"))]
    return AGE_KEYS_HEADER + "".join(f"{key}\n" for key in keys)


def write_atomically(path: Path, data: bytes) -> None:
    """Replace ``path`` (ciphertext or public keys only) in one rename."""
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


__all__ = [
    "EncryptError",
    "age_keys_text",
    "age_recipients",
    "encrypt_age",
    "encrypt_diffable",
    "encrypt_gpg",
    "write_atomically",
]
