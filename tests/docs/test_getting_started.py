"""Every command of docs/getting-started.md runs, in order, on a fresh Debian 12 root.

The commands of the page's ``sh`` blocks run as one bash script (``-e``: the first failure
stops it) chrooted into a throw-away Debian root (``tests/conftest.py``), in a network namespace
of its own so that the daemon's metrics port cannot meet another test's. ``systemctl`` is the
stand-in of ``tests/support/debian_root.py``: it starts the daemon as the unit would.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
from pathlib import Path

import pytest

from tests.support.debian_root import CHROOT_PATH
from tests.support.helpers import wait_for
from tests.support.paths import DOCS

PAGE = DOCS / "getting-started.md"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="mounts an overlay and chroots: needs root"),
]


def commands() -> str:
    return "".join(re.findall(r"^```sh\n(.*?)^```", PAGE.read_text(), re.S | re.M))


def test_the_page_installs_the_package_this_checkout_builds(
    debian_packages: tuple[Path, Path],
) -> None:
    assert f"apt install ./{debian_packages[1].name}\n" in commands()


def test_every_command_of_the_getting_started_page_runs(
    debian_packages: tuple[Path, Path], debian_root: Path
) -> None:
    root = debian_root
    deb = debian_packages[1]
    (root / "root" / deb.name).write_bytes(deb.read_bytes())
    env = {"PATH": CHROOT_PATH, "LANG": "C.UTF-8", "HOME": "/root", "TERM": "dumb"}
    inside = f"exec chroot {root} /bin/bash -c 'cd /root && exec bash -ex'"
    try:
        done = subprocess.run(
            ["unshare", "--net", "sh", "-c", f"ip link set lo up && {inside}"],
            input=commands(), capture_output=True, text=True, env=env, timeout=600,
        )  # fmt: skip
        log = root / "var" / "log" / "deployd.log"
        daemon_log = log.read_text() if log.exists() else "(the daemon did not start)"
        assert done.returncode == 0, f"{done.stdout}\n{done.stderr}\n{daemon_log}"
        assert "check passed: environment demo, localhost" in done.stdout
        assert "Next: systemctl enable --now deployd" in done.stdout
        status = done.stdout.split("Next: systemctl enable --now deployd")[1]
        assert "last run       succeeded" in status, done.stdout
        written = root / "srv" / "deployd" / "work" / "hello"
        assert any(written.iterdir()), "the example's component wrote its file"
    finally:
        _stop_daemon(root)


def _stop_daemon(root: Path) -> None:
    pid_file = root / "run" / "deployd-test.pid"
    if not pid_file.exists():
        return
    pid = int(pid_file.read_text())
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    wait_for(lambda: not Path(f"/proc/{pid}").exists() or _zombie(pid), timeout=120)


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except OSError:
        return True
