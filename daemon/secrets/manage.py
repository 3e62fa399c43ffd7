"""What ``deployd secrets`` does to a repository's secrets: edit, add-host, remove-host, rekey.

Everything here runs on a machine of the people who own the repository, with their keys
(``--identity``, ``$BATOU_AGE_IDENTITIES`` or ``~/.ssh/id_*``, as batou finds them). What it
writes batou 2.7.1 reads, and the other way round.

Members are ``[batou] members`` entries; a host's entry is its SSH host key with the host's name
as comment (``ssh-ed25519 AAAA... web01``), which is how hosts are told from people.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from components_runtime.secrets import (
    FILE_SUFFIX,
    Format,
    SecretFile,
    SecretsLayout,
    ValueSpan,
    find_secrets,
    parse_secrets,
    replace_values,
    value_spans,
)
from daemon.secrets.decrypt import DecryptFailed, SecretsOptions, decrypt_file
from daemon.secrets.encrypt import (
    EncryptError,
    age_keys_text,
    encrypt_age,
    encrypt_diffable,
    encrypt_gpg,
    write_atomically,
)
from daemon.secrets.recipients import AGE_KEYS_FILE

NEW_CONFIG = "[batou]\nsecret_provider = age\nmembers =\n"
# batou's own default identities, in its order
OPERATOR_KEYS = ("id_rsa", "id_ecdsa", "id_ecdsa_sk", "id_ed25519", "id_ed25519_sk", "id_dsa")


class ManageError(Exception):
    """The command cannot go on; ``str()`` says why and what to do. Nothing was written."""


def operator_identities(given: list[str] | None) -> tuple[Path, ...] | None:
    """``--identity``, else ``$BATOU_AGE_IDENTITIES``, else ``~/.ssh/id_*`` (as batou)."""
    if given:
        return tuple(Path(os.path.abspath(p)) for p in given)
    listed = os.environ.get("BATOU_AGE_IDENTITIES")
    if listed:
        return tuple(Path(os.path.expanduser(p.strip())) for p in listed.split(",") if p.strip())
    home = Path.home() / ".ssh"
    return tuple(home / name for name in OPERATOR_KEYS if (home / name).is_file())


@dataclass
class Environment:
    """One environment's secrets, opened with the operator's keys. Writes are collected and
    only :meth:`commit` puts them on disk, so a failure half-way writes nothing."""

    repository: Path
    name: str
    options: SecretsOptions
    pending: dict[Path, bytes] = field(default_factory=dict)
    removals: list[Path] = field(default_factory=list)

    @property
    def layout(self) -> SecretsLayout:
        return find_secrets(self.repository, self.name)

    @property
    def folder(self) -> Path:
        return self.repository / "environments" / self.name

    def read(self, secret: SecretFile) -> str:
        try:
            return decrypt_file(self.repository, secret, self.options)
        except DecryptFailed as failed:
            hint = f" ({failed.failure.hint})" if failed.failure.hint else ""
            raise ManageError(f"{failed.failure.message}{hint}") from None

    def shared(self) -> tuple[SecretFile, str]:
        config = self.layout.config
        if config is None:
            raise ManageError(
                f"environments/{self.name} has no secrets yet: create them with "
                f"`deployd secrets edit {self.name}`"
            )
        return config, self.read(config)

    def write(
        self,
        path: Path,
        fmt: Format,
        cleartext: str,
        members: list[str],
        previous: Mapping[tuple[str, str], tuple[str, str]] | None = None,
    ) -> None:
        """Encrypt ``cleartext`` to ``members`` for ``path`` (written by :meth:`commit`)."""
        try:
            if fmt == "gpg":
                data = encrypt_gpg(cleartext.encode(), members, self.options.gnupg_home)
            elif fmt == "age-diffable":
                relative = str(path.relative_to(self.repository))
                data = encrypt_diffable(cleartext, members, relative, previous).encode()
            else:
                data = encrypt_age(cleartext.encode(), members)
        except EncryptError as error:
            raise ManageError(str(error)) from None
        self.pending[path] = data
        if fmt != "gpg" and path.name.startswith("secrets.cfg"):
            self.pending[self.folder / AGE_KEYS_FILE] = age_keys_text(members).encode()

    def remove(self, path: Path) -> None:
        self.removals.append(path)

    def reencrypt_files(self, members: list[str], fmt: Format) -> None:
        """Every ``secret-NAME`` file to ``members``, in ``fmt``'s file format."""
        for secret in self.layout.files:
            text = self.read(secret)
            target = self.folder / f"secret-{secret.name}{FILE_SUFFIX[fmt]}"
            self.write(target, "gpg" if fmt == "gpg" else "age", text, members)
            if target != self.repository / secret.path:
                self.remove(self.repository / secret.path)

    def commit(self) -> list[str]:
        """Write what was encrypted, then remove what was replaced; the paths written."""
        for path, data in self.pending.items():
            write_atomically(path, data)
        for path in self.removals:
            if path not in self.pending:
                path.unlink(missing_ok=True)
        written = [str(path.relative_to(self.repository)) for path in self.pending]
        self.pending, self.removals = {}, []
        return written


def previous_values(
    environment: Environment, secret: SecretFile, cleartext: str
) -> dict[tuple[str, str], tuple[str, str]]:
    """For an age-diffable file: (section, key) -> (cleartext, ciphertext) of today's values."""
    encrypted = (environment.repository / secret.path).read_text()
    clear_spans, _ = value_spans(cleartext, secret.path)
    cipher_spans, _ = value_spans(encrypted, secret.path)
    ciphers = {(s.section, s.key.lower()): s.value for s in cipher_spans}
    return {
        (s.section, s.key.lower()): (s.value, ciphers[(s.section, s.key.lower())])
        for s in clear_spans
        if (s.section, s.key.lower()) in ciphers
    }


def with_members(text: str, members: list[str]) -> str:
    """``text`` with ``[batou] members`` set to ``members`` (one per line)."""
    spans, _ = value_spans(text, "secrets.cfg")
    written = ",\n".join(members)
    found = next((s for s in spans if s.section == "batou" and s.key.lower() == "members"), None)
    if found is not None:
        return replace_values(text, [(found, written)])
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip() == "[batou]":  # no members yet: a new line right below the header
            return replace_values(
                text, [(ValueSpan("batou", "members", number + 1, number, ""), written)]
            )
    new = "[batou]\nmembers =\n\n" + text
    return replace_values(new, [(ValueSpan("batou", "members", 2, 2, ""), written)])


def members_of(text: str, file: str) -> list[str]:
    config = parse_secrets(text, file)
    if config.errors:
        error = config.errors[0]
        raise ManageError(f"{file}:{error.line}: {error.message}")
    return list(config.members)


def comment_of(member: str) -> str:
    words = member.split()
    return " ".join(words[2:]) if member.startswith("ssh-") and len(words) > 2 else ""


@contextmanager
def private_file(name: str, text: str) -> Iterator[Path]:
    """``text`` in a file only this user can read, in memory where the system offers it
    (/dev/shm), removed afterwards whatever happens."""
    base = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    folder = Path(tempfile.mkdtemp(prefix="deployd-secrets-", dir=base))
    path = folder / name
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        yield path
    finally:
        if path.exists():
            size = path.stat().st_size
            with open(path, "r+b") as handle:  # overwrite before unlinking
                handle.write(b"\0" * size)
            path.unlink()
        folder.rmdir()


def run_editor(editor: str, text: str, name: str) -> str:
    with private_file(name, text) as path:
        command = [*shlex.split(editor), str(path)]
        try:
            done = subprocess.run(command)
        except OSError as error:
            raise ManageError(f"cannot run the editor {editor!r}: {error.strerror}") from None
        if done.returncode != 0:
            raise ManageError(f"the editor exited with status {done.returncode}: nothing changed")
        return path.read_text(encoding="utf-8")


Edit = Callable[[str, str], str]  # (current cleartext, file name) -> new cleartext


__all__ = [
    "Edit",
    "Environment",
    "ManageError",
    "comment_of",
    "members_of",
    "operator_identities",
    "previous_values",
    "private_file",
    "run_editor",
    "with_members",
]
