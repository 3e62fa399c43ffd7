"""What can be read from encrypted files without a key.

* An age file's header names its recipients' *stanzas*: ``ssh-ed25519 TAG`` and ``ssh-rsa TAG``,
  where TAG is the first four bytes of the SHA-256 of the recipient's SSH public key (so it is
  also the start of the key's ``SHA256:`` fingerprint), and anonymous ``X25519`` stanzas.
* batou's ``age-diffable`` format is INI in clear text: ``[batou]`` as it is, every other value
  a base64-encoded age file of its own, so the sections and keys are visible to everyone.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from components_runtime.envconfig import IniDialect, parse_ini
from components_runtime.errors import ConfigurationError, SecretsError

AGE_MAGIC = b"age-encryption.org/v1\n"
AGE_ARMOR = b"-----BEGIN AGE ENCRYPTED FILE-----"
# The diffable file keeps its keys' case when read here: its text is rebuilt line by line.
_DIFFABLE = IniDialect(default_section=False, comments_in_values=True, quote_lines=False)


@dataclass(frozen=True)
class Stanza:
    type: str  # "ssh-ed25519", "ssh-rsa", "X25519", "scrypt", ...
    tag: str | None  # the SSH key's tag, for the ssh types


def ssh_key_tag(public_key: str) -> str:
    """The age stanza tag of an ``ssh-ed25519 AAAA...`` / ``ssh-rsa AAAA...`` public key."""
    blob = base64.b64decode(public_key.split()[1])
    return base64.b64encode(hashlib.sha256(blob).digest()[:4]).decode().rstrip("=")


def ssh_fingerprint(public_key: str) -> str:
    """``SHA256:...`` as ``ssh-keygen -l`` prints it."""
    blob = base64.b64decode(public_key.split()[1])
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def age_stanzas(data: bytes) -> list[Stanza] | None:
    """The recipient stanzas of an age file, or None when ``data`` is no age file."""
    if data.startswith(AGE_ARMOR):
        body = b"".join(data.splitlines()[1:-1])
        try:
            data = base64.b64decode(body)
        except (binascii.Error, ValueError):
            return None
    if not data.startswith(AGE_MAGIC):
        return None
    stanzas: list[Stanza] = []
    for line in data[len(AGE_MAGIC) :].split(b"\n"):
        if line.startswith(b"---"):
            return stanzas
        if line.startswith(b"-> "):
            words = line[3:].decode("ascii", errors="replace").split()
            kind = words[0] if words else "?"
            if kind.endswith("-grease"):  # rage adds random stanzas that are nobody's
                continue
            tag = words[1] if kind.startswith("ssh-") and len(words) > 1 else None
            stanzas.append(Stanza(kind, tag))
    return None  # no end of header: truncated


@dataclass(frozen=True)
class ValueSpan:
    """Where one ``key = value`` sits in an INI text, and its value as written."""

    section: str
    key: str
    line: int  # the key's line
    last_line: int  # the value's last line
    value: str


@dataclass(frozen=True)
class DiffableValue(ValueSpan):
    """One encrypted value of an age-diffable file, with its age file."""

    ciphertext: bytes = b""


def value_spans(text: str, file: str) -> tuple[list[ValueSpan], list[ConfigurationError]]:
    """Every option of ``text`` with its place (``[batou]`` included), keys as written."""
    raw = parse_ini(text, file, _DIFFABLE)
    errors: list[ConfigurationError] = [
        SecretsError(e.message, file=file, line=e.line) for e in raw.errors
    ]
    spans = [
        ValueSpan(section.name, o.key, o.line, o.value_lines[-1], o.value)
        for section in raw.sections
        for o in section.options
    ]
    return spans, errors


def diffable_values(text: str, file: str) -> tuple[list[DiffableValue], list[ConfigurationError]]:
    spans, errors = value_spans(text, file)
    values = []
    for span in spans:
        if span.section == "batou":
            continue
        try:
            data = base64.b64decode(span.value, validate=True)
        except (binascii.Error, ValueError):
            data = b""
        if span.value and age_stanzas(data) is None:
            errors.append(
                SecretsError(
                    f"The value of {span.key} is not an encrypted age value",
                    file=file,
                    line=span.line,
                    section=span.section,
                    hint="edit the file with `deployd secrets edit` or `batou secrets "
                    "edit`, never by hand",
                )
            )
            continue
        values.append(DiffableValue(span.section, span.key, span.line, span.last_line, "", data))
    return values, errors


def diffable_members(text: str, file: str) -> str | None:
    """The ``[batou] members`` of an age-diffable file (in clear text), as written."""
    for section in parse_ini(text, file, _DIFFABLE).sections:
        if section.name == "batou":
            option = section.get("members")
            return option.value if option else None
    return None


def replace_values(text: str, replaced: list[tuple[ValueSpan, str]]) -> str:
    """``text`` with each span's value replaced, as batou (ConfigUpdater) writes a value: a
    value of several lines as indented continuation lines. Decrypting an age-diffable file is
    this with the cleartexts, encrypting it this with the ciphertexts."""
    lines = text.splitlines(keepends=True)
    for span, value in sorted(replaced, key=lambda item: item[0].line, reverse=True):
        first, *rest = value.split("\n")
        written = f"{span.key} = {first}\n" + "".join(f"    {part}\n" for part in rest)
        lines[span.line - 1 : span.last_line] = [written]
    return "".join(lines)


def rebuild_diffable(text: str, decrypted: list[tuple[DiffableValue, str]]) -> str:
    """The cleartext batou makes of an age-diffable file."""
    return replace_values(text, [(value, clear) for value, clear in decrypted])


__all__ = [
    "DiffableValue",
    "Stanza",
    "ValueSpan",
    "age_stanzas",
    "diffable_members",
    "diffable_values",
    "rebuild_diffable",
    "replace_values",
    "ssh_fingerprint",
    "ssh_key_tag",
    "value_spans",
]
