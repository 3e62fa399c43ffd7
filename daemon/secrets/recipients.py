"""Who can decrypt which secrets file, read from the files themselves (no key needed).

An age file names each SSH recipient by a tag of its public key; the public keys themselves are
in ``environments/ENV/age_keys.txt`` (batou writes it at every encryption, and so does
``deployd secrets``) with the comment each key was written with. A key whose comment is the
name of a host of the environment is that host's key (``deployd secrets add-host`` writes
them that way). X25519 (``age1...``) recipients are anonymous in the file: only counted.
A gpg file names its recipients' key ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from components_runtime.secrets import SecretFile, SecretsLayout, age_stanzas, ssh_key_tag
from components_runtime.secrets import ssh_fingerprint as fingerprint
from daemon.secrets import gpg

AGE_KEYS_FILE = "age_keys.txt"


@dataclass(frozen=True)
class Recipient:
    kind: str  # ssh-ed25519, ssh-rsa, X25519, gpg, ...
    label: str  # the key's comment, its host, or what identifies it
    host: str | None = None  # the environment's host this key belongs to
    ident: str = ""  # SSH fingerprint, gpg key id, or the stanza's tag when the key is unknown


@dataclass(frozen=True)
class FileRecipients:
    file: SecretFile
    recipients: tuple[Recipient, ...]
    readable: bool = True  # False: not an age / gpg file at all

    def hosts(self) -> set[str]:
        return {r.host for r in self.recipients if r.host}


def known_keys(folder: Path) -> dict[str, tuple[str, str]]:
    """tag -> (public key, comment) for the SSH keys listed in ``age_keys.txt``."""
    keys: dict[str, tuple[str, str]] = {}
    try:
        lines = (folder / AGE_KEYS_FILE).read_text().splitlines()
    except OSError:
        return keys
    for line in lines:
        words = line.split()
        if len(words) >= 2 and words[0].startswith("ssh-"):
            try:
                keys[ssh_key_tag(line)] = (" ".join(words[:2]), " ".join(words[2:]))
            except (ValueError, IndexError):  # a damaged line: the key stays unknown
                continue
    return keys


def file_recipients(
    checkout: Path, secret: SecretFile, hosts: set[str], gnupg_home: Path | None = None
) -> FileRecipients:
    path = checkout / secret.path
    if secret.format == "gpg":
        ids = gpg.recipients(path, gnupg_home)
        return FileRecipients(secret, tuple(Recipient("gpg", f"key {i}", None, i) for i in ids))
    keys = known_keys(path.parent)
    data = path.read_bytes()
    if secret.format == "age-diffable":
        return _diffable(secret, data, keys, hosts)
    stanzas = age_stanzas(data)
    if stanzas is None:
        return FileRecipients(secret, (), readable=not data)
    return FileRecipients(secret, tuple(_recipient(s.type, s.tag, keys, hosts) for s in stanzas))


def _diffable(
    secret: SecretFile, data: bytes, keys: dict[str, tuple[str, str]], hosts: set[str]
) -> FileRecipients:
    """The recipients of the first encrypted value (batou encrypts them all to the same)."""
    from components_runtime.secrets import diffable_values

    values, _errors = diffable_values(data.decode("utf-8", errors="replace"), secret.path)
    for value in values:
        stanzas = age_stanzas(value.ciphertext)
        if stanzas is not None:
            found = tuple(_recipient(s.type, s.tag, keys, hosts) for s in stanzas)
            return FileRecipients(secret, found)
    return FileRecipients(secret, ())


def _recipient(
    kind: str, tag: str | None, keys: dict[str, tuple[str, str]], hosts: set[str]
) -> Recipient:
    if tag is None:
        return Recipient(kind, "age key (anonymous in the file)")
    if tag not in keys:
        return Recipient(kind, "unknown key (not in age_keys.txt)", None, f"tag {tag}")
    public, comment = keys[tag]
    host = comment if comment in hosts else None
    return Recipient(kind, comment or "(no comment)", host, fingerprint(public))


def environment_recipients(
    checkout: Path, layout: SecretsLayout, hosts: set[str], gnupg_home: Path | None = None
) -> list[FileRecipients]:
    return [file_recipients(checkout, s, hosts, gnupg_home) for s in layout.all_files()]


def render(found: list[FileRecipients], hosts: list[str]) -> list[str]:
    """The listing ``deployd check`` and ``deployd secrets recipients`` print."""
    lines = []
    for entry in found:
        scope = f", scoped to host {entry.file.name}" if entry.file.kind == "host" else ""
        count = len(entry.recipients)
        lines.append(f"{entry.file.path} ({entry.file.format}{scope}, {count} recipients)")
        if not entry.readable:
            lines.append("  not an encrypted file")
        for recipient in entry.recipients:
            who = f"host {recipient.host}" if recipient.host else recipient.label
            lines.append(f"  {who:<32} {recipient.kind} {recipient.ident}".rstrip())
        needing = hosts if entry.file.kind != "host" else [entry.file.name]
        missing = [h for h in needing if h not in entry.hosts()]
        if missing and entry.file.format != "gpg":
            lines.append(f"  hosts that cannot decrypt it: {', '.join(missing)}")
    return lines


__all__ = [
    "AGE_KEYS_FILE",
    "FileRecipients",
    "Recipient",
    "environment_recipients",
    "file_recipients",
    "known_keys",
    "render",
]
