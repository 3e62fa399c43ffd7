"""The full `deployd check` report of a broken repository, pinned word for word.

tests/fixtures/broken is a batou repository with one of each configuration mistake. Every
error must be reported in one run, sorted, each with its file, line, section, component and
hint. To accept a deliberate change of the report: DEPLOYD_UPDATE_GOLDEN=1 pytest this file.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

FIXTURE = Path(__file__).parent / "fixtures" / "broken"
GOLDEN = FIXTURE / "expected-check.txt"


def run_check(*args: str) -> subprocess.CompletedProcess[str]:
    state = Path(tempfile.gettempdir()) / f"deployd-golden-state-{os.getuid()}"
    command = ["check", str(FIXTURE), "-e", "broken", "--state-dir", str(state), *args]
    return subprocess.run(
        [sys.executable, "-m", "daemon.cli", *command],
        capture_output=True,
        text=True,
        timeout=60,
    )


def normalise(text: str) -> str:
    return re.sub(r"\(\d+\.\d+s\)", "(TIME)", text)


def test_check_reports_every_error_at_once() -> None:
    done = run_check("--all-hosts")
    report = normalise(done.stdout)
    if os.environ.get("DEPLOYD_UPDATE_GOLDEN"):
        GOLDEN.write_text(report)
    assert done.stderr == ""
    assert report == GOLDEN.read_text()
    assert done.returncode == 2


def test_check_of_one_host_still_reports_errors_of_the_whole_environment() -> None:
    done = run_check("--host", "web1")
    assert done.returncode == 2
    report = normalise(done.stdout)
    # Configure covers every host: app1's resource errors show up when checking web1.
    assert "Unsatisfied resource 'cache:url'" in report
    assert "check FAILED: environment broken, web1 (TIME)" in report
