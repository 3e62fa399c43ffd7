"""Fuzzed deployment repositories: ``environment.cfg`` and ``component.py`` mutated from a
valid one. Whatever the input: no internal error (a traceback), no hang, and every error says
where (the file, and the line when there is one). In the worker's own code, in-process, so a
few hundred inputs cost a few seconds; a few go through ``deployd check`` for the exit status.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from components_runtime.protocol import WorkerRequest, WorkerResult
from components_runtime.worker.debugging import install_breakpoint_hook
from components_runtime.worker.session import run_request
from tests.support.daemon_helpers import deployd_command
from tests.support.fuzzing import cases, mutate_text, replay, time_limit
from tests.support.helpers import write_tree

ENVIRONMENT = """\
[environment]
platform = linux
timeout = 30

[deployd]
run_timeout = 10m
component_timeout = 90s

[hosts]
one = hello
two = hello, other

[host:one]
data-port = 8080
data-name = first host

[component:hello]
greeting = hi ${host:name}
count = 3

[resolver]
db.example.com = 127.0.0.1
"""

COMPONENT = """\
from batou.component import Attribute, Component
from batou.lib.file import File


class Hello(Component):
    greeting = Attribute(str, default="hello")
    count = Attribute(int, default=1)

    def configure(self):
        self.provide("greeting", self.greeting * self.count)
        self += File("hello.txt", content=self.greeting)


class Other(Component):
    def configure(self):
        self.got = self.require("greeting")
        self += File("other.txt", content=str(self.got))
"""

ENV_WORDS = [
    "[environment]", "[hosts]", "[host:one]", "[host:three]", "[component:hello]",
    "[component:nope]", "[deployd]", "[resolver]", "[vfs]", "[provisioners]", "components =",
    "platform = ", "data-x = ", "hello", "other", "one = hello", "=", "${", "%(x)s",
    "run_timeout = 1e308", "fetch = 1", "count = many", "greeting = ", "\t", "    ", ";",
    "h" * 300, "ignore = true", "service_user = x", "host_domain = example.com",
]  # fmt: skip
CODE_WORDS = [
    "self", "Attribute(", "int", ")", "(", ":", "    ", "\t", "raise ValueError('x')",
    "import nope", "from batou.lib.file import Nope", "self.require('nothing')",
    "self.provide('greeting', 1)", "File(", "deployd_timeout = 'x'", "return", "lambda", "yield",
    "class", "def configure(self):", "breakpoint()", "1/0", "None", "'", '"""', "\\",
    "@platform('x')", "Component", "os._exit(0)",
]  # fmt: skip


# Errors about the whole run, following the located ones (they name the components instead).
SUMMARIES = ("NonConvergingError",)


def _repository(base: Path, environment: str, component: str) -> Path:
    repo = base / "repo"
    write_tree(repo, {
        "environments/fuzz/environment.cfg": environment,
        "components/hello/component.py": component,
    })  # fmt: skip
    return repo


def _check(repo: Path) -> WorkerResult:
    request = WorkerRequest(
        repository=str(repo), environment="fuzz", host="one", mode="check", all_hosts=True
    )
    hook = sys.breakpointhook
    install_breakpoint_hook(request, lambda event: None)  # as the worker does: no pdb here
    try:
        with time_limit(20):
            return run_request(request, lambda event: None)
    finally:
        sys.breakpointhook = hook


def _assert_located(result: WorkerResult, shown: str) -> None:
    for error in result.errors:
        assert error.kind != "InternalError", (
            shown + f"{error.message}\n" + "\n".join(error.details)
        )
        if error.kind not in SUMMARIES:
            assert error.file or error.section, shown + f"unlocated: {error}"


@pytest.mark.parametrize("target", ["environment", "component"])
def test_a_mutated_repository_gives_located_errors_never_a_traceback(
    tmp_path: Path, target: str
) -> None:
    words, base = (ENV_WORDS, ENVIRONMENT) if target == "environment" else (CODE_WORDS, COMPONENT)
    failures = []
    for number, rng in cases(target, 60):
        text = mutate_text(rng, base, words)
        environment, component = (
            (text, COMPONENT) if target == "environment" else (ENVIRONMENT, text)
        )
        case = tmp_path / str(number)
        shown = replay(target, number, text)
        result = _check(_repository(case, environment, component))
        _assert_located(result, shown)
        if result.errors:
            failures.append(number)
    assert failures, "the mutations never broke anything: the fuzzer tests nothing"


def test_the_cli_exits_1_or_2_on_mutated_repositories(tmp_path: Path) -> None:
    for number, rng in cases("cli", 2):
        environment = mutate_text(rng, ENVIRONMENT, ENV_WORDS)
        component = mutate_text(rng, COMPONENT, CODE_WORDS)
        repo = _repository(tmp_path / str(number), environment, component)
        done = subprocess.run(
            [*deployd_command(), "check", str(repo), "-e", "fuzz", "--all-hosts",
             "--state-dir", str(tmp_path / "state")],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        shown = replay("cli", number, environment + "\n---\n" + component)
        assert done.returncode in (0, 1, 2), shown + done.stderr
        assert "Traceback" not in done.stderr + done.stdout, shown + done.stderr
        assert "InternalError" not in done.stdout + done.stderr, shown + done.stdout
