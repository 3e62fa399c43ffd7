"""Names in environment.cfg longer than a file name may be (255 bytes): a host name is only a
name (batou accepts it too), a component name is looked up as ``components/NAME/`` and must
come back as a located error, never as the file system's "File name too long"."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from components_runtime.protocol import WorkerRequest
from components_runtime.worker.session import run_request
from tests.support.daemon_helpers import deployd_command
from tests.support.helpers import write_tree

LONG = "h" * 300
COMPONENT = """\
from batou.component import Component
from batou.lib.file import File


class Hello(Component):
    def configure(self):
        self += File("hello.txt", content="hi")
"""


def repository(base: Path, hosts: str) -> Path:
    write_tree(base / "repo", {
        "components/hello/component.py": COMPONENT,
        "environments/env/environment.cfg": f"[environment]\nplatform = linux\n\n[hosts]\n{hosts}",
    })  # fmt: skip
    return base / "repo"


@pytest.mark.parametrize("selected", [LONG, "one"], ids=["selected", "another-host"])
def test_a_host_name_longer_than_a_file_name_converges(tmp_path: Path, selected: str) -> None:
    repo = repository(tmp_path, f"one = hello\n{LONG} = hello\n")
    request = WorkerRequest(
        repository=str(repo), environment="env", host=selected, root=str(tmp_path / "root")
    )
    result = run_request(request, lambda event: None)
    assert not result.errors, result.errors
    assert (tmp_path / "root/work/hello/hello.txt").read_text() == "hi"


@pytest.mark.parametrize("host", ["one", LONG], ids=["short-host", "long-host"])
def test_a_component_name_longer_than_a_file_name_is_located(tmp_path: Path, host: str) -> None:
    repo = repository(tmp_path, f"{host} = hello, {LONG}\n")
    request = WorkerRequest(repository=str(repo), environment="env", host=host, mode="check")
    result = run_request(request, lambda event: None)
    assert [e.kind for e in result.errors] == ["MissingComponent"], result.errors
    error = result.errors[0]
    assert (error.file, error.line) == ("environments/env/environment.cfg", 5)
    assert "File name too long" not in error.message + (error.hint or "")


def test_check_exits_2_naming_the_line(tmp_path: Path) -> None:
    repo = repository(tmp_path, f"{LONG} = hello, {LONG}\n")
    done = subprocess.run(
        [*deployd_command(), "check", str(repo), "-e", "env", "--host", LONG,
         "--state-dir", str(tmp_path / "state")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    assert "environments/env/environment.cfg:5" in done.stdout + done.stderr
    assert "Traceback" not in done.stderr and "InternalError" not in done.stdout + done.stderr
