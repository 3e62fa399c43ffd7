"""The Debian package (``make package``), installed on a fresh Debian 12 root.

The root is a minimal debootstrap with only the package's own dependencies (plus systemd, for
``systemd-analyze verify``), cached per machine and mounted as a throw-away overlay per test
(``tests/support/debian_root.py``). The package is built once per session. Nothing is
installed on this machine. systemd cannot run as PID 1 here: a stand-in ``systemctl`` records
what the maintainer scripts ask of it.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from tests.support.debian_root import (
    file_tree,
    in_root,
    systemctl_calls,
)
from tests.support.helpers import git
from tests.support.paths import REPO_ROOT

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="mounts an overlay and chroots: needs root"),
]

# What dpkg, the logs and the test itself change in the root: everything else must be exactly
# as before the installation once the package is purged.
BOOKKEEPING = ("proc", "tmp", "root", "var/lib/dpkg", "var/log", "var/cache", "run")


def test_lintian_finds_no_errors(debian_packages: tuple[Path, Path]) -> None:
    done = subprocess.run(
        ["lintian", "--tag-display-limit", "0", str(debian_packages[1])],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    errors = [line for line in done.stdout.splitlines() if line.startswith("E:")]
    assert errors == [] and done.returncode == 0, done.stdout + done.stderr


def test_install_check_upgrade_remove_purge(
    debian_packages: tuple[Path, Path], debian_root: Path
) -> None:
    root = debian_root
    previous, current = (f"/tmp/{deb.name}" for deb in debian_packages)
    before = file_tree(root, BOOKKEEPING)
    groups_before = (root / "etc" / "group").read_text()

    in_root(root, "dpkg", "-i", previous)
    _installed_as_documented(root)
    # Enabled as Debian enables services (systemd's presets), and started: the unit's
    # ExecCondition keeps it down until `deployd init` (below).
    calls = systemctl_calls(root)
    assert "--root=/ --system --preset-mode=enable-only preset deployd.service" in calls
    assert "--quiet --system start deployd.service" in calls

    head = git("rev-parse", "HEAD", cwd=REPO_ROOT)
    version = in_root(root, "deployd", "--version").stdout
    assert version.startswith("deployd 0.1.0 (commit ") and head in version, version

    # The template sets no repository: the unit's ExecCondition keeps the service down.
    waiting = in_root(root, "deployd", "configured", check=False)
    assert waiting.returncode == 1 and "deployd init" in waiting.stderr

    example = "/usr/share/doc/deployd/examples/hello"
    check = in_root(root, "deployd", "check", example, "-e", "demo", "--host", "localhost")
    assert "check passed: environment demo, localhost" in check.stdout, check.stdout

    verify = in_root(root, "systemd-analyze", "verify", "deployd.service")
    assert verify.stderr == "", verify.stderr

    # A host in use: settings written, state kept by the daemon, the service running.
    settings = root / "etc" / "deployd" / "deployd.toml"
    settings.write_text(
        'repository = "file:///srv/repo"\nenvironment = "demo"\n' + settings.read_text()
    )
    state = root / "var" / "lib" / "deployd" / "state.json"
    state.write_text(json.dumps({"ratchet": "0" * 40}))
    assert in_root(root, "deployd", "configured").returncode == 0
    calls = len(systemctl_calls(root))

    in_root(root, "dpkg", "-i", current)
    upgrade_calls = systemctl_calls(root)[calls:]
    assert [c for c in upgrade_calls if "restart" in c or "stop" in c] == [
        "try-restart deployd.service"
    ], upgrade_calls
    assert json.loads(state.read_text()) == {"ratchet": "0" * 40}
    assert 'repository = "file:///srv/repo"' in settings.read_text()
    assert "0.1.0 (commit" in in_root(root, "deployd", "--version").stdout

    calls = len(systemctl_calls(root))
    in_root(root, "dpkg", "--remove", "deployd")
    assert "stop deployd.service" in systemctl_calls(root)[calls:]
    assert state.exists() and settings.exists(), "remove keeps state and settings"
    assert not (root / "opt" / "deployd").exists(), "remove leaves no byte-code behind"

    in_root(root, "dpkg", "--purge", "deployd")
    assert file_tree(root, BOOKKEEPING) == before
    assert (root / "etc" / "group").read_text() == groups_before


def _installed_as_documented(root: Path) -> None:
    def mode_and_group(path: str) -> tuple[str, str]:
        info = (root / path).stat()
        group = in_root(root, "getent", "group", str(info.st_gid)).stdout.split(":")[0]
        return oct(stat.S_IMODE(info.st_mode)), group

    assert mode_and_group("var/lib/deployd") == ("0o750", "deployd")
    assert mode_and_group("srv/deployd") == ("0o755", "root")
    assert os.readlink(root / "usr" / "bin" / "deployd") == "/opt/deployd/bin/deployd"
    assert os.readlink(root / "opt" / "deployd" / "bin" / "python") == "python3"
    # The venv runs on the root's own Debian python3, not on anything of the build machine.
    config = (root / "opt" / "deployd" / "pyvenv.cfg").read_text()
    assert "home = /usr/bin" in config and "/tmp" not in config
    conffiles = in_root(root, "dpkg-query", "-W", "-f=${Conffiles}", "deployd").stdout
    assert "/etc/deployd/deployd.toml" in conffiles
    assert (root / "lib" / "systemd" / "system" / "deployd.service").is_file()
