"""Component code that ends the process or recurses forever: the worker still reports where."""

from __future__ import annotations

from pathlib import Path

import pytest

from components_runtime.protocol import WorkerRequest
from components_runtime.worker.session import run_request
from tests.support.helpers import write_tree

ENVIRONMENT = "[host:one]\ncomponents = hello\n"


def run(tmp_path: Path, body: str) -> tuple[str, list[str], str]:
    code = (
        "import sys\nfrom batou.component import Component\n\n\nclass Hello(Component):\n"
        f"    def configure(self):\n        {body}\n"
    )
    write_tree(tmp_path / "repo", {
        "components/hello/component.py": code,
        "environments/env/environment.cfg": ENVIRONMENT,
    })  # fmt: skip
    request = WorkerRequest(
        repository=str(tmp_path / "repo"), environment="env", host="one", mode="check"
    )
    result = run_request(request, lambda event: None)
    error = result.errors[0]
    return (
        f"{error.kind}: {error.message} at {error.file}:{error.line}",
        list(error.details),
        (error.hint or ""),
    )


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("sys.exit(3)", "component code ended the run: sys.exit(3)"),
        ("raise KeyboardInterrupt", "component code ended the run: raise KeyboardInterrupt"),
    ],
)
def test_sys_exit_in_component_code_is_an_error_with_its_line(
    tmp_path: Path, body: str, expected: str
) -> None:
    summary, _, hint = run(tmp_path, body)
    assert summary == f"DeploymentError: {expected} at components/hello/component.py:7"
    assert "raise an exception instead" in hint


def test_deep_recursion_is_reported_in_a_few_lines(tmp_path: Path) -> None:
    recursion = "def down(n):\n            return down(n + 1)\n        down(0)"
    summary, details, _ = run(tmp_path, recursion)
    assert summary.startswith("UnknownConfigureError: RecursionError")
    assert len(details) < 10, details
    assert any("the line above repeated" in line for line in details)


def test_a_repository_without_components_dir_says_so(tmp_path: Path) -> None:
    write_tree(tmp_path / "repo", {"environments/env/environment.cfg": ENVIRONMENT})
    request = WorkerRequest(
        repository=str(tmp_path / "repo"), environment="env", host="one", mode="check"
    )
    error = run_request(request, lambda event: None).errors[0]
    assert error.kind == "MissingComponent"
    assert error.hint == f"{tmp_path / 'repo'} has no components/ directory: is it the repository?"


def test_sys_exit_in_verify_fails_that_component_and_keeps_what_ran_before(
    tmp_path: Path,
) -> None:
    code = (
        "import sys\nfrom batou.component import Component\nfrom batou.lib.file import File\n\n\n"
        "class Hello(Component):\n    def configure(self):\n"
        "        self += File('a', content='a')\n\n    def verify(self):\n        sys.exit(5)\n"
    )
    write_tree(tmp_path / "repo", {
        "components/hello/component.py": code,
        "environments/env/environment.cfg": ENVIRONMENT,
    })  # fmt: skip
    request = WorkerRequest(
        repository=str(tmp_path / "repo"), environment="env", host="one", mode="apply",
        root=str(tmp_path / "root"),
    )  # fmt: skip
    result = run_request(request, lambda event: None)
    (error,) = result.errors
    assert (error.kind, error.message) == ("DeploymentError", "component code called sys.exit(5)")
    assert (error.file, error.line, error.component) == (
        "components/hello/component.py",
        11,
        "hello",
    )
    assert [(c.component, c.outcome) for c in result.components] == [("hello", "failed")]
    assert (tmp_path / "root/work/hello/a").read_text() == "a"  # the sub-component converged


def test_a_misspelled_component_name_gets_a_suggestion(tmp_path: Path) -> None:
    write_tree(tmp_path / "repo", {
        "components/hello/component.py": "from batou.component import Component\n"
                                         "class Hello(Component):\n    pass\n",
        "environments/env/environment.cfg": "[host:one]\ncomponents = helo\n"
                                            "[component:hallo]\nport = 1\n",
    })  # fmt: skip
    request = WorkerRequest(
        repository=str(tmp_path / "repo"), environment="env", host="one", mode="check"
    )
    hints = {e.component: e.hint for e in run_request(request, lambda event: None).errors}
    assert hints["helo"] is not None and hints["helo"].endswith("/helo/. Did you mean 'hello'?")
    assert hints["hallo"] is not None and hints["hallo"].endswith("/hallo/. Did you mean 'hello'?")


@pytest.mark.parametrize("text", ["", "[environment]\nplatform = x\n"])
def test_an_environment_without_hosts_fails_the_all_hosts_check(tmp_path: Path, text: str) -> None:
    write_tree(tmp_path / "repo", {
        "components/hello/component.py": "from batou.component import Component\n",
        "environments/env/environment.cfg": text,
    })  # fmt: skip
    request = WorkerRequest(
        repository=str(tmp_path / "repo"), environment="env", mode="check", all_hosts=True
    )
    result = run_request(request, lambda event: None)
    [error] = result.errors
    assert (error.kind, error.file) == ("HostSelectionError", "environments/env/environment.cfg")
    assert "has no hosts: there is nothing to check" in error.message
