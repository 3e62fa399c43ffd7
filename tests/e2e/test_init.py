"""``deployd init``: enrol a host against real repositories (file:// and ssh:// with sshd).

Every failure exits 2, says what to do and leaves no settings file behind; the settings are
written only after ``deployd check`` passed for this host.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from daemon.config import load_settings, template_text
from tests.support.git_servers import Sshd
from tests.support.helpers import git
from tests.support.paths import DOCS


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """The bundled example as a git repository."""
    path = tmp_path / "repo"
    shutil.copytree(DOCS / "examples" / "hello", path)
    git("init", "-q", "-b", "main", cwd=path)
    git("add", "-A", cwd=path)
    git("commit", "-q", "-m", "example", cwd=path)
    return path


def init(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    host_key = tmp_path / "ssh_host_ed25519_key.pub"
    host_key.write_text("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKeyOfThisMachine root@web1\n")
    command = [sys.executable, "-m", "daemon.cli", "init", *args]
    command += ["--config", str(tmp_path / "etc" / "deployd.toml"), "--host-key", str(host_key)]
    command += ["--state-dir", str(tmp_path / "state")]
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


def test_init_checks_then_writes_the_settings(repo: Path, tmp_path: Path) -> None:
    done = init(tmp_path, "--repository", f"file://{repo}", "-e", "demo", "--host", "localhost")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKeyOfThisMachine" in done.stdout
    assert "check passed: environment demo, localhost" in done.stdout
    assert done.stdout.rstrip().endswith(
        "Next: systemctl enable --now deployd   (then `deployd status`)"
    )
    settings_file = tmp_path / "etc" / "deployd.toml"
    assert settings_file.stat().st_mode & 0o777 == 0o600, "the URL may hold a token"
    settings = load_settings(settings_file)
    assert (settings.repository, settings.environment, settings.host, settings.branch) == (
        f"file://{repo}", "demo", "localhost", "main",
    )  # fmt: skip
    assert settings.state_dir == tmp_path / "state"
    assert "# poll_interval = 60" in settings_file.read_text(), "every other option stays shown"
    assert list((tmp_path / "state" / "venvs").iterdir()), "the daemon reuses the check's venv"


def test_init_replaces_settings_only_with_force(repo: Path, tmp_path: Path) -> None:
    settings_file = tmp_path / "etc" / "deployd.toml"
    settings_file.parent.mkdir()
    settings_file.write_text(template_text())  # the package's conffile: nothing to lose
    args = ("--repository", f"file://{repo}", "-e", "demo", "--host", "localhost")
    assert init(tmp_path, *args).returncode == 0
    first = settings_file.read_text()

    refused = init(tmp_path, *args, "--branch", "other")
    assert refused.returncode == 2
    assert "already holds settings: not replaced. Pass --force" in refused.stderr
    assert settings_file.read_text() == first

    forced = init(tmp_path, *args, "--force")
    assert forced.returncode == 0, forced.stderr
    assert (tmp_path / "etc" / "deployd.toml.old").read_text() == first


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"--repository": "file:///nonexistent/repo"}, "check the path in the repository URL"),
        ({"--branch": "release"}, "has no branch 'release': pass the right one with --branch"),
        ({"-e": "production"}, "Existing environments: demo."),
        ({"--host": "web9"}, "Hosts in this environment: localhost."),
    ],
    ids=["unreachable", "branch", "environment", "host"],
)
def test_every_failure_says_what_to_do(
    repo: Path, tmp_path: Path, change: dict[str, str], says: str
) -> None:
    args = {"--repository": f"file://{repo}", "-e": "demo", "--host": "localhost", **change}
    done = init(tmp_path, *[word for pair in args.items() for word in pair])
    assert done.returncode == 2
    assert says in done.stdout + done.stderr
    assert "deployd.toml was not written" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "etc" / "deployd.toml").exists()


@pytest.mark.slow
def test_init_over_ssh_makes_a_deploy_key_the_server_must_accept(
    repo: Path, tmp_path: Path
) -> None:
    server = Sshd(tmp_path / "sshd")
    bare = tmp_path / "deployment.git"
    git("clone", "-q", "--bare", str(repo), str(bare), cwd=tmp_path)
    server.start()
    try:
        args = ("--repository", server.url(bare), "-e", "demo", "--host", "localhost")
        refused = init(tmp_path, *args)
        key = tmp_path / "etc" / "deploy_key"
        public = Path(f"{key}.pub").read_text().strip()
        assert refused.returncode == 2
        assert public in refused.stdout, "the operator sees the key to add"
        assert "the server refused the key" in refused.stderr
        assert "[127.0.0.1]:" in (tmp_path / "etc" / "known_hosts").read_text()

        (server.base / "authorized_keys").write_text(public + "\n")
        done = init(tmp_path, *args)
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"existing: {key}" in done.stdout and public in done.stdout
        settings = load_settings(tmp_path / "etc" / "deployd.toml")
        assert settings.ssh_key == key
        assert settings.ssh_known_hosts == tmp_path / "etc" / "known_hosts"
    finally:
        server.stop()


def test_configured_tells_the_unit_whether_to_start(tmp_path: Path) -> None:
    settings_file = tmp_path / "deployd.toml"

    def configured() -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "daemon.cli", "configured", "-c", str(settings_file)]
        return subprocess.run(command, capture_output=True, text=True)

    assert configured().returncode == 1, "no file yet"
    settings_file.write_text(template_text())
    waiting = configured()
    assert waiting.returncode == 1 and "deployd init --repository URL" in waiting.stderr
    settings_file.write_text('repository = "https://git.example.com/ops.git"\n')
    assert configured().returncode == 0
