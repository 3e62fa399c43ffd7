"""``deployd apply`` shows progress while it builds the repository's venv and converges: plain
lines in a log or a pipe, one status line rewritten in place on a terminal (a real pty)."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.helpers import git, make_repo
from tests.support.venv_helpers import build_wheels, project

pytestmark = pytest.mark.slow

COMPONENT = """\
from batou.component import Component
from batou.lib.file import File

import probe


class Hello(Component):
    def configure(self):
        self += File("hello.txt", content=probe.WORD)
"""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = make_repo(
        tmp_path / "repo",
        {
            "requirements.txt": "--no-index\ndeployd-progress-probe==1.0\n",
            "environments/test/environment.cfg": "[host:web1]\ncomponents = hello\n",
            "components/hello/component.py": COMPONENT,
        },
    )
    source = project(
        tmp_path / "src", "deployd-progress-probe", "1.0", {"probe.py": "WORD = 'hi'\n"}
    )
    build_wheels([source], path / "wheels")
    git("add", "-A", cwd=path)
    git("commit", "-q", "-m", "wheels", cwd=path)
    return path


def apply(repo: Path, tmp_path: Path) -> list[str]:
    return [
        sys.executable, "-m", "daemon.cli", "apply", str(repo), "-e", "test", "--host", "web1",
        "--root", str(tmp_path / "root"), "--state-dir", str(tmp_path / "state"),
    ]  # fmt: skip


def test_a_log_gets_one_plain_line_per_step_of_the_venv_build(repo: Path, tmp_path: Path) -> None:
    done = subprocess.run(apply(repo, tmp_path), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert "venv: Successfully installed deployd-progress-probe-1.0" in lines
    assert any(line.startswith("venv: Processing ") and "probe" in line for line in lines)
    assert "\x1b" not in done.stdout and "\r" not in done.stdout, "no terminal codes in a log"
    again = subprocess.run(apply(repo, tmp_path), capture_output=True, text=True, timeout=300)
    assert "venv:" not in again.stdout, "a reused venv builds nothing"


def test_a_terminal_gets_a_status_line_rewritten_in_place(repo: Path, tmp_path: Path) -> None:
    leader, follower = pty.openpty()
    process = subprocess.Popen(apply(repo, tmp_path), stdout=follower, stderr=follower)
    os.close(follower)
    output = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the follower side closed: the command ended
            break
        if not chunk:
            break
        output += chunk
    os.close(leader)
    assert process.wait(timeout=300) == 0, output.decode(errors="replace")
    text = output.decode(errors="replace")
    assert "\r\x1b[Kvenv: Successfully installed deployd-progress-probe-1.0" in text
    assert "\r\x1b[Kweb1: hello: converging ..." in text
    last = text.rstrip().splitlines()[-1]
    assert last.startswith("apply: ") and "\x1b" not in last, "the status line is cleared"
