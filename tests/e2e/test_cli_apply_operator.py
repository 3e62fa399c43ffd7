"""`deployd apply` on the odd things operators do: Ctrl-C, a root that cannot be used, file-system
errors inside the file library. Real subprocesses; the worker runs in the repository's venv, so
runtime frames reach it through the venv's symlinked runtime (as on a host)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.helpers import make_repo, wait_for

ENVIRONMENT = "[environment]\n\n[host:web]\ncomponents = hello\n"

BLOCKING = """\
import os, time
from batou.component import Component


class Hello(Component):
    def {method}(self):
        with open(os.environ["MARKER"], "w") as marker:
            marker.write(str(os.getpid()))
        time.sleep(60)
"""

MISSING_PARENT = """\
from batou.component import Component
from batou.lib.file import File


class Hello(Component):
    def configure(self):
        self += File("{path}", content="x")
"""


@pytest.fixture(scope="module")
def state_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("state")


def apply(repo: Path, root: Path, state_dir: Path) -> list[str]:
    return [sys.executable, "-m", "daemon.cli", "apply", str(repo), "-e", "test",
            "--host", "web", "--root", str(root), "--state-dir", str(state_dir)]  # fmt: skip


def repo_with(path: Path, component: str) -> Path:
    return make_repo(
        path,
        {
            "environments/test/environment.cfg": ENVIRONMENT,
            "components/hello/component.py": component,
        },
    )


@pytest.mark.parametrize(
    ("command", "method", "said"),
    [
        ("apply", "verify", "apply: INTERRUPTED (Ctrl-C) while converging hello"),
        ("check", "configure", "check: INTERRUPTED (Ctrl-C); nothing was changed."),
    ],
)
def test_ctrl_c_stops_the_worker_and_says_where(
    command: str, method: str, said: str, tmp_path: Path, state_dir: Path
) -> None:
    repo = repo_with(tmp_path / "repo", BLOCKING.format(method=method))
    marker = tmp_path / "worker.pid"
    args = apply(repo, tmp_path / "root", state_dir)
    if command == "check":
        args = [arg for arg in args if arg not in ("--root", str(tmp_path / "root"))]
        args[args.index("apply")] = "check"
    process = subprocess.Popen(
        args,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own group: SIGINT to it is what a terminal's Ctrl-C does
        env={**os.environ, "MARKER": str(marker)},
    )
    worker = int(wait_for(lambda: marker.exists() and marker.read_text(), timeout=60))
    os.killpg(process.pid, signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stdout + stderr
    assert said in stdout
    assert "Traceback" not in stderr and "stopping the worker" in stderr

    def gone() -> bool:
        try:
            os.kill(worker, 0)
        except ProcessLookupError:
            return True
        return False

    wait_for(gone, timeout=30)  # stopped, not left running behind the operator's back


@pytest.mark.parametrize("root", ["/etc/hostname", "/proc/deployd-cannot-be-here"])
def test_an_unusable_root_is_a_clear_error(root: str, tmp_path: Path, state_dir: Path) -> None:
    repo = repo_with(tmp_path / "repo", MISSING_PARENT.format(path="x"))
    done = subprocess.run(
        apply(repo, Path(root), state_dir), capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"cannot create the work directory {root}/work" in done.stdout
    assert "deployd apply --root DIR" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr
    assert "InternalError" not in done.stdout


@pytest.mark.parametrize(
    ("path", "hint"),
    [
        ("/proc/deployd-nope/x", "the directory /proc/deployd-nope does not exist"),
        ("/etc/hostname/sub/x", "a part of that path is a file, not a directory"),
    ],
)
def test_file_system_errors_point_at_the_component_with_a_hint(
    path: str, hint: str, tmp_path: Path, state_dir: Path
) -> None:
    repo = repo_with(tmp_path / "repo", MISSING_PARENT.format(path=path))
    done = subprocess.run(
        apply(repo, tmp_path / "root", state_dir), capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "location:  components/hello/component.py" in done.stdout
    assert hint in done.stdout
    # never a frame of the runtime (reached through the venv's symlinks) or <frozen os>
    assert "deployd-runtime" not in done.stdout and "<frozen" not in done.stdout


def test_an_undefined_name_in_a_template_file_names_the_template_and_line(
    tmp_path: Path, state_dir: Path
) -> None:
    repo = make_repo(
        tmp_path / "repo",
        {
            "environments/test/environment.cfg": ENVIRONMENT,
            "components/hello/component.py": MISSING_PARENT.replace(
                'content="x"', 'source="app.conf.j2"'
            ).format(path="app.conf"),
            "components/hello/app.conf.j2": "port = 80\nname = {{ component.no_such_name }}\n",
        },
    )
    done = subprocess.run(
        apply(repo, tmp_path / "root", state_dir), capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "has no attribute 'no_such_name'" in done.stdout
    assert "location:  components/hello/app.conf.j2:2" in done.stdout


def test_a_venv_failure_is_reported_once_and_a_file_is_not_a_repository(
    tmp_path: Path, state_dir: Path
) -> None:
    repo = repo_with(tmp_path / "repo", MISSING_PARENT.format(path="x"))
    (repo / "requirements.txt").write_text("-e ./not-there\n")
    done = subprocess.run(
        apply(repo, tmp_path / "root", state_dir), capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2
    assert "location:  requirements.txt:1" in done.stdout
    assert done.stderr == ""  # not a second time through logging's last-resort handler

    not_a_dir = subprocess.run(
        apply(repo / "requirements.txt", tmp_path / "root", state_dir),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert not_a_dir.returncode == 2
    assert "requirements.txt: not a directory (the deployment repository" in not_a_dir.stderr


def test_print_in_component_code_reaches_the_terminal(tmp_path: Path, state_dir: Path) -> None:
    printing = (
        "from batou.component import Component\n\n\nclass Hello(Component):\n"
        "    def verify(self):\n        print('checking the hello thing')\n"
    )
    repo = repo_with(tmp_path / "repo", printing)
    done = subprocess.run(
        apply(repo, tmp_path / "root", state_dir), capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stderr == "checking the hello thing\n"  # on stderr: stdout carries the report


def test_the_first_run_says_it_builds_the_venv(tmp_path: Path) -> None:
    repo = repo_with(tmp_path / "repo", MISSING_PARENT.format(path="x"))
    command = apply(repo, tmp_path / "root", tmp_path / "fresh-state")
    first = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stdout + first.stderr
    assert first.stdout.startswith("note: building the repository's venv in ")
    assert "(nothing to install); later runs reuse it" in first.stdout
    again = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert "building" not in again.stdout
