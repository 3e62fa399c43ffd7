"""Keys and batou-written secrets for the secrets tests.

* ``ssh_key(dir, name)``: an unencrypted ed25519 key pair made by ``ssh-keygen`` (a host key).
* ``gpg_keyring(dir, uid)``: a gpg home with one key (ultimately trusted, as a key made there
  is), its gpg-agent stopped again by ``stop_gpg_agent``.
* ``batou_secrets_edit(...)``: ``batou secrets edit`` (2.7.1) driven by an EDITOR script that
  copies prepared cleartext into batou's temporary file: secrets batou itself encrypted.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

COMPONENT = """\
from batou.component import Attribute, Component
from batou.lib.file import File


class App(Component):
    password = Attribute(str, None)
    port = Attribute(int, 1)
    plain = Attribute(str, "default")

    def configure(self):
        self += File(
            "out.txt",
            content="password={} port={} plain={} token={}\\n".format(
                self.password, self.port, self.plain, self.host.data.get("token")
            ),
        )
        self += File("tls.key", content=self.environment.secret_files["tls.key"])
"""

ENVIRONMENT = """\
[environment]
connect_method = local

[hosts]
localhost = app

[component:app]
plain = from-environment
"""


@dataclass(frozen=True)
class SshKey:
    private: Path
    public: str  # "ssh-ed25519 AAAA... comment"


def ssh_key(directory: Path, name: str, comment: str | None = None) -> SshKey:
    directory.mkdir(parents=True, exist_ok=True)
    private = directory / name
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment or name, "-f", str(private)],
        check=True,
    )
    return SshKey(private, (directory / f"{name}.pub").read_text().strip())


def gpg_keyring(directory: Path, uid: str) -> Path:
    """A gpg home holding one encryption key for ``uid`` (an e-mail address)."""
    directory.mkdir(mode=0o700, parents=True)
    subprocess.run(
        ["gpg", "--homedir", str(directory), "--batch", "--passphrase", "",
         "--quick-gen-key", f"host <{uid}>", "future-default", "default", "never"],
        check=True, capture_output=True,
    )  # fmt: skip
    return directory


def stop_gpg_agent(home: Path) -> None:
    subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "gpg-agent"], check=False)


def batou_env(
    repo: Path, identity: Path | None = None, gnupg: Path | None = None
) -> dict[str, str]:
    env = {**os.environ, "APPENV_BASEDIR": str(repo)}
    if identity is not None:
        env["BATOU_AGE_IDENTITIES"] = str(identity)
    if gnupg is not None:
        env["GNUPGHOME"] = str(gnupg)
    return env


def batou_secrets_edit(
    venv: Path,
    repo: Path,
    environment: str,
    cleartext: str,
    file: str | None = None,
    identity: Path | None = None,
    gnupg: Path | None = None,
) -> None:
    """``batou secrets edit ENV [FILE]`` with ``cleartext`` as what the editor saves."""
    source = repo.parent / f".cleartext-{os.getpid()}-{file or 'secrets'}"
    source.write_text(cleartext)
    editor = repo.parent / ".editor.sh"
    editor.write_text(f'#!/bin/sh\ncp "{source}" "$1"\n')
    editor.chmod(0o755)
    command = [str(venv / "bin" / "batou"), "secrets", "edit", "--editor", str(editor), environment]
    try:
        done = subprocess.run(
            command + ([file] if file else []),
            cwd=repo,
            env=batou_env(repo, identity, gnupg),
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        source.unlink()
    if done.returncode != 0 or "An error occurred" in done.stdout:
        raise AssertionError(f"batou secrets edit failed:\n{done.stdout}\n{done.stderr}")


def batou_deploy(
    venv: Path, repo: Path, environment: str, identity: Path | None = None,
    gnupg: Path | None = None,
) -> subprocess.CompletedProcess[str]:  # fmt: skip
    return subprocess.run(
        [str(venv / "bin" / "batou"), "deploy", environment],
        cwd=repo,
        env=batou_env(repo, identity, gnupg),
        capture_output=True,
        text=True,
        timeout=300,
    )


def deployd_secrets(
    repo: Path,
    *args: str,
    content: str | None = None,
    seen: Path | None = None,
    shown_at: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """``deployd secrets ARGS`` in ``repo``; with ``content``, the editor saves that text
    (and first copies what it was shown to ``seen``, and writes the path of the file it was
    given to ``shown_at``)."""
    import sys

    from tests.support.paths import REPO_ROOT

    extra: list[str] = []
    if content is not None:
        source = repo.parent / f".deployd-cleartext-{os.getpid()}"
        source.write_text(content)
        editor = repo.parent / ".deployd-editor.sh"
        keep = f'cp "$1" "{seen}"\n' if seen else ""
        keep += f'printf %s "$1" > "{shown_at}"\n' if shown_at else ""
        editor.write_text(f'#!/bin/sh\n{keep}cp "{source}" "$1"\n')
        editor.chmod(0o755)
        extra = ["--editor", str(editor)]
    try:
        return subprocess.run(
            [sys.executable, "-m", "daemon.cli", "secrets", *args, "-C", str(repo), *extra],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        if content is not None:
            source.unlink()


def batou_decrypt(
    venv: Path, repo: Path, path: str, identity: Path | None = None, gnupg: Path | None = None
) -> str:
    done = subprocess.run(
        [str(venv / "bin" / "batou"), "secrets", "decrypttostdout", path],
        cwd=repo,
        env=batou_env(repo, identity, gnupg),
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode != 0:
        raise AssertionError(f"batou cannot decrypt {path}:\n{done.stdout}\n{done.stderr}")
    return done.stdout
