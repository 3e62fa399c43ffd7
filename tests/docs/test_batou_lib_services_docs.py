"""The examples of docs/batou-lib.md for batou's service modules run.

The page's ``file=`` blocks form one repository (pinning batou 2.7.1). Its ``docs-jobs``
environment (cron, logrotate, nagios: files only, no platform installs them) converges twice
with ``deployd apply``, the second run changing nothing, and leaves the crontab the page shows;
``docs-services`` (supervisor, mysql) passes ``deployd check``, which configures every
component without running supervisord or MariaDB (the parity tests run those).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.batou_lib_parity import offline_environment
from tests.support.paths import REPO_ROOT

pytestmark = pytest.mark.slow

PAGE = REPO_ROOT / "docs" / "batou-lib.md"
FILE_BLOCK = re.compile(r"^```\w+ file=(\S+)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
CRONTAB_BLOCK = re.compile(r"`work/crontab/crontab` reads:\n\n```text\n(.*?)```", re.DOTALL)


def deployd(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "daemon.cli", *args]
    return subprocess.run(
        command, capture_output=True, text=True, env=offline_environment(), timeout=600
    )


def test_the_service_examples_converge_and_configure(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    for name, content in FILE_BLOCK.findall(PAGE.read_text()):
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(content)
    root, state = tmp_path / "root", tmp_path / "state"
    common = ("--host", "localhost", "--state-dir", str(state))
    first = deployd("apply", str(repo), "-e", "docs-jobs", "--root", str(root), *common)
    assert first.returncode == 0, first.stdout + first.stderr
    second = deployd("apply", str(repo), "-e", "docs-jobs", "--root", str(root), *common)
    assert "0 changed, 5 unchanged" in second.stdout, second.stdout + second.stderr
    [shown] = CRONTAB_BLOCK.findall(PAGE.read_text())
    written = (root / "work/crontab/crontab").read_text()
    assert written == shown.replace("<root>", str(root))
    assert (
        (root / "work/_/etc/nagios/nrpe/local/app.cfg")
        .read_text()
        .endswith("command[disk_space]=check_disk -w 10%\n\n")
    )
    checked = deployd("check", str(repo), "-e", "docs-services", *common)
    assert checked.returncode == 0, checked.stdout + checked.stderr
