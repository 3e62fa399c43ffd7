"""run_request: the worker's whole job, in process (the CLI tests run it in a subprocess)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from components_runtime.protocol import WorkerRequest
from components_runtime.worker.session import run_request
from tests.support.helpers import write_tree

COMPONENTS = """\
from batou.component import Component
from batou.lib.file import File


class Base(Component):
    def configure(self):
        self.log("configuring base on %s", self.host.name)
        self.provide("base", self.host.name)
        self += File("base.txt", content="base")


class Top(Component):
    def configure(self):
        self.bases = sorted(self.require("base"))
        self += File("top.txt", content="{{component.bases}}")


class Lazy(Component):
    def update(self):
        pass
"""

ENVIRONMENT = """\
[host:one]
components = base, top, lazy

[host:two]
components = base, !top
"""


def repo(tmp_path: Path) -> Path:
    write_tree(tmp_path / "repo", {
        "components/app/component.py": COMPONENTS,
        "environments/env/environment.cfg": ENVIRONMENT,
    })  # fmt: skip
    return tmp_path / "repo"


def run(tmp_path: Path, **kw: Any) -> tuple[Any, list[dict[str, Any]]]:
    events: list[dict[str, Any]] = []
    request = WorkerRequest(
        repository=str(repo(tmp_path)), environment="env", root=str(tmp_path / "root"), **kw
    )
    return run_request(request, events.append), events


def test_apply_converges_one_host_after_configuring_all(tmp_path: Path) -> None:
    result, events = run(tmp_path, host="one")
    assert result.outcome == "succeeded", result.errors
    assert (tmp_path / "root/work/top/top.txt").read_text() == "['one', 'two']"
    # top waits for base on BOTH hosts (cross-host require); lazy has no dependencies.
    assert [(c.component, c.outcome) for c in result.components] == [
        ("base", "changed"),
        ("lazy", "unchanged"),
        ("top", "changed"),
    ]
    logs = [e["message"] for e in events if e["event"] == "log"]
    assert "configuring base on one" in logs and "configuring base on two" not in logs
    assert any("has update() but no verify()" in w for w in result.warnings)


def test_ignored_component_is_skipped(tmp_path: Path) -> None:
    result, _ = run(tmp_path, host="two")
    assert [(c.component, c.outcome) for c in result.components] == [
        ("base", "changed"),
        ("top", "skipped"),
    ]


def test_check_all_hosts_changes_nothing(tmp_path: Path) -> None:
    result, events = run(tmp_path, mode="check", all_hosts=True)
    assert result.outcome == "succeeded" and result.components == ()
    assert not (tmp_path / "root").exists()
    logs = [e["message"] for e in events if e["event"] == "log"]
    assert "configuring base on two" in logs


def test_stop_request_cancels(tmp_path: Path) -> None:
    events: list[dict[str, Any]] = []
    request = WorkerRequest(repository=str(repo(tmp_path)), environment="env", host="one",
                            root=str(tmp_path / "root"))  # fmt: skip
    result = run_request(request, events.append, should_stop=lambda: True)
    assert result.outcome == "cancelled" and result.components
    assert {c.outcome for c in result.components} == {"skipped"}, "nothing ran, all listed"


def test_failures_never_raise_out(tmp_path: Path) -> None:
    request = WorkerRequest(repository=str(tmp_path / "nothing"), environment="env")
    result = run_request(request, lambda event: None)
    assert result.outcome == "failed"
    assert [e.kind for e in result.errors] == ["MissingEnvironment"]
    # A broken request (a bug on the caller's side) still becomes a result.
    broken = WorkerRequest(repository=None, environment="env")  # type: ignore[arg-type]
    result = run_request(broken, lambda event: None)
    assert [e.kind for e in result.errors] == ["InternalError"]


def test_a_library_failure_points_at_the_users_line_that_added_it(tmp_path: Path) -> None:
    write_tree(tmp_path / "repo", {
        "components/blocked/component.py": (
            "from batou.component import Component\n"
            "from batou.lib.file import File\n\n\n"
            "class Blocked(Component):\n"
            "    def configure(self):\n"
            "        self += File('blocker', content='x')\n"
            "        self += File('blocker/inner.txt', content='y')\n"
        ),
        "environments/env/environment.cfg": "[host:one]\ncomponents = blocked\n",
    })  # fmt: skip
    request = WorkerRequest(repository=str(tmp_path / "repo"), environment="env", host="one",
                            root=str(tmp_path / "root"))  # fmt: skip
    result = run_request(request, lambda event: None)
    assert result.outcome == "failed"
    [error] = result.errors
    # File('blocker/inner.txt') fails inside the library: its `self += File(...)` line.
    assert (error.file, error.line) == ("components/blocked/component.py", 8)
    assert error.details[0].startswith("in: one > Blocked > File('")
    assert (error.component, error.host) == ("blocked", "one")
