"""Decrypting on the host: SSH host keys and age identity files through pyrage, gpg through the
gpg binary; a host that is not a recipient gets its key's fingerprint and what to do."""

from __future__ import annotations

import base64
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pyrage
import pytest
from pyrage import ssh, x25519

from components_runtime.secrets import find_secrets, parse_secrets
from daemon.secrets import SecretsOptions, decrypt_secrets, environment_recipients, render
from daemon.secrets.identities import load_identities
from tests.support.secrets_helpers import SshKey, gpg_keyring, ssh_key, stop_gpg_agent

ENV = "environments/prod"


@pytest.fixture
def key(tmp_path: Path) -> SshKey:
    return ssh_key(tmp_path / "keys", "web", "web")


def _write(base: Path, name: str, data: bytes) -> None:
    folder = base / ENV
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)


def _age(text: str, *recipients: object) -> bytes:
    return bytes(pyrage.encrypt(text.encode(), list(recipients)))


def _options(*paths: Path) -> SecretsOptions:
    return SecretsOptions(identities=tuple(paths))


def test_age_with_the_ssh_host_key(tmp_path: Path, key: SshKey) -> None:
    recipient = ssh.Recipient.from_str(key.public)
    _write(tmp_path, "secrets.cfg.age", _age("[app]\npw = x1\n", recipient))
    _write(tmp_path, "secret-tls.age", _age("file\n", recipient))
    decryption = decrypt_secrets(tmp_path, "prod", "web", _options(key.private))
    assert decryption.ok and decryption.payload is not None
    assert decryption.payload.as_dict() == {
        f"{ENV}/secrets.cfg.age": "[app]\npw = x1\n",
        f"{ENV}/secret-tls.age": "file\n",
    }
    assert "x1" not in repr(decryption.payload)


def test_age_with_an_age_identity_file(tmp_path: Path) -> None:
    identity = x25519.Identity.generate()
    (tmp_path / "key.txt").write_text(f"# created: now\n{identity}\n")
    _write(tmp_path, "secrets.cfg.age", _age("[app]\npw = x2\n", identity.to_public()))
    decryption = decrypt_secrets(tmp_path, "prod", None, _options(tmp_path / "key.txt"))
    assert decryption.ok
    assert load_identities([tmp_path / "key.txt"]).keys[0].public == str(identity.to_public())


def test_no_secrets_needs_no_key(tmp_path: Path) -> None:
    (tmp_path / ENV).mkdir(parents=True)
    decryption = decrypt_secrets(tmp_path, "prod", "web", _options(tmp_path / "missing"))
    assert decryption.ok and decryption.payload is None


def test_not_a_recipient_names_the_key_and_what_to_do(tmp_path: Path, key: SshKey) -> None:
    owner = ssh_key(tmp_path / "keys", "owner")
    _write(
        tmp_path, "secrets.cfg.age", _age("[app]\npw = x\n", ssh.Recipient.from_str(owner.public))
    )
    decryption = decrypt_secrets(tmp_path, "prod", "web", _options(key.private))
    (failure,) = decryption.failures
    fingerprint = subprocess.run(
        ["ssh-keygen", "-lf", f"{key.private}.pub"], capture_output=True, text=True, check=True
    ).stdout.split()[1]
    assert failure.not_recipient
    assert failure.message == (
        f"this host is not a recipient of {ENV}/secrets.cfg.age: its key {fingerprint} "
        f"({key.private}) is not among the file's 1 recipients"
    )
    public = " ".join(key.public.split()[:2])
    assert f'`deployd secrets add-host prod web --key "{public}"`' in failure.hint
    assert decryption.payload is not None and not decryption.payload.complete
    assert decryption.errors()[0].kind == "NotARecipient"


def test_no_usable_key_says_which_files_were_tried(tmp_path: Path, key: SshKey) -> None:
    _write(tmp_path, "secrets.cfg.age", _age("[app]\n", ssh.Recipient.from_str(key.public)))
    (tmp_path / "broken").write_text("AGE-SECRET-KEY-1NOPE\n")
    decryption = decrypt_secrets(tmp_path, "prod", "web", _options(tmp_path / "broken"))
    (failure,) = decryption.failures
    assert "no usable age identity" in failure.message
    assert f"{tmp_path}/broken:1: not an age identity" in failure.message
    assert "NOPE" not in failure.message  # a mistyped private key is never echoed


def test_a_damaged_file_is_damaged_without_any_key(tmp_path: Path) -> None:
    _write(tmp_path, "secrets.cfg.age", b"age-encryption.org/v1\n-> X25519 abc\n")
    decryption = decrypt_secrets(tmp_path, "prod", "web", _options(tmp_path / "no-key"))
    (failure,) = decryption.failures
    assert failure.damaged and not failure.not_recipient
    assert failure.message.startswith(f"{ENV}/secrets.cfg.age is not an age file")


def test_age_diffable_values_are_decrypted_in_place(tmp_path: Path, key: SshKey) -> None:
    recipient = ssh.Recipient.from_str(key.public)

    def value(text: str) -> str:
        return base64.b64encode(_age(text, recipient)).decode()

    single, multi = value("single"), value("line 1\nline 2")
    text = (
        f"[batou]\nmembers = {key.public}\nsecret_provider = age-diffable\n\n"
        f"[component:app]\nPassword = {single}\nmulti = {multi}\nempty = \n"
    )
    _write(tmp_path, "secrets.cfg.age-diffable", text.encode())
    decryption = decrypt_secrets(tmp_path, "prod", "web", _options(key.private))
    assert decryption.ok and decryption.payload is not None
    clear = decryption.payload.as_dict()[f"{ENV}/secrets.cfg.age-diffable"]
    config = parse_secrets(clear, "x")
    assert {k: v.text for k, v in config.overrides["app"].items()} == {
        "password": "single",
        "multi": "line 1\nline 2",
        "empty": "",
    }


@pytest.fixture
def gnupg(tmp_path: Path) -> Iterator[Path]:
    home = gpg_keyring(tmp_path / "gnupg", "web@hosts.example")
    yield home
    stop_gpg_agent(home)


def test_gpg_with_the_configured_keyring(tmp_path: Path, gnupg: Path) -> None:
    encrypted = subprocess.run(
        ["gpg", "--homedir", str(gnupg), "--batch", "--encrypt", "-r", "web@hosts.example"],
        input=b"[app]\npw = g1\n", capture_output=True, check=True,
    ).stdout  # fmt: skip
    _write(tmp_path, "secrets.cfg.gpg", encrypted)
    options = SecretsOptions(gnupg_home=gnupg)
    decryption = decrypt_secrets(tmp_path, "prod", "web", options)
    assert decryption.ok and decryption.payload is not None
    assert decryption.payload.texts == ((f"{ENV}/secrets.cfg.gpg", "[app]\npw = g1\n"),)

    empty = tmp_path / "empty-gnupg"
    empty.mkdir(mode=0o700)
    try:
        refused = decrypt_secrets(tmp_path, "prod", "web", SecretsOptions(gnupg_home=empty))
    finally:
        stop_gpg_agent(empty)
    (failure,) = refused.failures
    assert failure.not_recipient and str(empty) in failure.message
    layout = find_secrets(tmp_path, "prod")
    (listed,) = environment_recipients(tmp_path, layout, {"web"}, empty)
    assert len(listed.recipients) == 1 and listed.recipients[0].kind == "gpg"


def test_recipients_name_the_hosts_by_their_keys(tmp_path: Path, key: SshKey) -> None:
    person = ssh_key(tmp_path / "keys", "alice", "alice@laptop")
    recipients = [ssh.Recipient.from_str(k.public) for k in (key, person)]
    _write(tmp_path, "secrets.cfg.age", _age("[app]\n", *recipients))
    _write(tmp_path, "age_keys.txt", f"# generated\n{key.public}\n{person.public}\n".encode())
    layout = find_secrets(tmp_path, "prod")
    lines = render(environment_recipients(tmp_path, layout, {"web", "db"}), ["web", "db"])
    assert lines[0] == f"{ENV}/secrets.cfg.age (age, 2 recipients)"
    assert lines[1].split()[:3] == ["host", "web", "ssh-ed25519"]
    assert lines[2].split()[:2] == ["alice@laptop", "ssh-ed25519"]
    assert lines[3] == "  hosts that cannot decrypt it: db"
