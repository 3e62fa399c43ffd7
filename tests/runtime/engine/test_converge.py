"""Converging one host: order, skipping, predict, events, failures, cancellation."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from components_runtime.engine.configure import configure_environment
from components_runtime.engine.converge import converge_host
from components_runtime.engine.testing import add_root, make_environment
from components_runtime.errors import UpdateNeeded
from components_runtime.model.component import Component
from components_runtime.support.output import output
from tests.support.helpers import import_as_installed

LOG: list[str] = []


class Step(Component):
    def verify(self) -> None:
        LOG.append(f"verify {self.root.name}")
        raise UpdateNeeded()

    def update(self) -> None:
        LOG.append(f"update {self.root.name}")


class Second(Step):
    deployd_timeout = 30

    def configure(self) -> None:
        self.require("first")


class First(Step):
    def configure(self) -> None:
        self.provide("first", 1)


class Lone(Step):
    pass


class Failing(Component):
    def verify(self) -> None:
        raise RuntimeError("disk on fire")


def setup(tmp_path: Path, *factories: Any, ignore: tuple[str, ...] = ()) -> tuple[Any, Any]:
    LOG.clear()
    env = make_environment(tmp_path, {"here": None, "there": None})
    for factory in factories:
        add_root(env, factory, host="here", ignore=factory.__name__.lower() in ignore)
    result = configure_environment(env, tmp_path)
    assert result.errors == []
    return env, result


def converge(env: Any, result: Any, **kw: Any) -> tuple[Any, list[dict[str, Any]]]:
    events: list[dict[str, Any]] = []
    outcome = converge_host(env.hosts["here"], result.order, events.append, **kw)
    return outcome, events


def test_roots_converge_in_dependency_order_with_events(tmp_path: Path) -> None:
    env, result = setup(tmp_path, Second, First)
    outcome, events = converge(env, result)
    assert LOG == ["verify first", "update first", "verify second", "update second"]
    assert [(e["event"], e["component"]) for e in events] == [
        ("component-started", "first"),
        ("component-announced", "first"),
        ("component-changed", "first"),
        ("component-finished", "first"),
        ("component-started", "second"),
        ("component-announced", "second"),
        ("component-changed", "second"),
        ("component-finished", "second"),
    ]
    assert events[4]["timeout"] == 30.0 and events[0]["timeout"] is None
    assert events[1]["path"] == events[2]["path"] == "First"
    assert [(c.component, c.outcome) for c in outcome.components] == [
        ("first", "changed"),
        ("second", "changed"),
    ]


def test_predict_runs_verify_only(tmp_path: Path) -> None:
    env, result = setup(tmp_path, Lone)
    outcome, _ = converge(env, result, predict=True)
    assert LOG == ["verify lone"]
    assert outcome.components[0].outcome == "changed"


def test_ignored_roots_are_configured_but_skipped(tmp_path: Path) -> None:
    env, result = setup(tmp_path, First, Second, ignore=("first",))
    outcome, _ = converge(env, result)
    assert LOG == ["verify second", "update second"]
    assert [c.outcome for c in outcome.components] == ["skipped", "changed"]


def test_a_failure_names_the_users_frame_and_the_run_goes_on(tmp_path: Path) -> None:
    # batou 2.7.1 goes on with the roots that do not depend on the failed one.
    env, result = setup(tmp_path, Failing, Lone)
    outcome, _ = converge(env, result, base_dir=Path(__file__).parent)
    [error] = outcome.errors
    assert error.message == "RuntimeError: disk on fire"
    assert error.file == "test_converge.py"
    assert error.line == Failing.verify.__code__.co_firstlineno + 1
    assert (error.component, error.host) == ("failing", "here")
    assert error.details[0] == "in: here > Failing"
    assert [(c.component, c.outcome) for c in outcome.components] == [
        ("failing", "failed"),
        ("lone", "changed"),
    ]
    assert LOG == ["verify lone", "update lone"]


INSTALLED_EXTENSION = """\
from components_runtime.lib.file import File
from components_runtime.model.component import Component


class Ext(Component):
    def configure(self):
        self += File("/nowhere-deployd-test/config", content="x")
"""


def test_a_library_failure_inside_an_installed_package_names_the_users_line(
    tmp_path: Path,
) -> None:
    # batou_ext's components live in the venv's site-packages: the File one of them added
    # fails, and the error names the user's `self += Ext()`, not the line inside the package.
    extension = import_as_installed(tmp_path, "fake_ext", INSTALLED_EXTENSION)

    class UsesExt(Component):
        def configure(self) -> None:
            self += extension.Ext()

    env, result = setup(tmp_path, UsesExt)
    outcome, _ = converge(env, result, base_dir=Path(__file__).parent)
    [error] = outcome.errors
    assert error.file == "test_converge.py"
    assert error.line == UsesExt.configure.__code__.co_firstlineno + 1
    assert error.details[0].startswith(
        "in: here > UsesExt > Ext > File('/nowhere-deployd-test/config')"
    )


class FailingFirst(Component):
    def configure(self) -> None:
        self.provide("first", 1)

    def verify(self) -> None:
        raise RuntimeError("provider broke")


class Third(Step):
    def configure(self) -> None:
        self.require("second")


class ProvidingSecond(Step):
    def configure(self) -> None:
        self.require("first")
        self.provide("second", 2)


def test_roots_that_depend_on_a_failed_root_are_not_attempted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # third -> providingsecond -> failingfirst: both dependents wait for the failed provider,
    # the one through the other too; lone does not depend on it and is deployed.
    env, result = setup(tmp_path, Third, Lone, ProvidingSecond, FailingFirst)
    with caplog.at_level(logging.INFO):
        outcome, events = converge(env, result)
    assert [(c.component, c.outcome) for c in outcome.components] == [
        ("lone", "changed"),
        ("failingfirst", "failed"),
        ("providingsecond", "not-attempted"),
        ("third", "not-attempted"),
    ]
    assert LOG == ["verify lone", "update lone"]
    assert [e["outcome"] for e in events if e["event"] == "component-finished"][2:] == [
        "not-attempted",
        "not-attempted",
    ]
    assert len(outcome.errors) == 1
    assert "Not attempting component third: it depends on failingfirst, which failed" in (
        caplog.text
    )


def test_stop_request_cancels_between_roots(tmp_path: Path) -> None:
    env, result = setup(tmp_path, First, Second)
    calls = iter([False, True])
    outcome, _ = converge(env, result, should_stop=lambda: next(calls))
    assert outcome.cancelled
    listed = [(c.component, c.outcome) for c in outcome.components]
    assert listed == [("first", "changed"), ("second", "skipped")], "the rest is not forgotten"


def test_second_run_reports_no_changes(tmp_path: Path) -> None:
    class Once(Component):
        def verify(self) -> None:
            assert (Path(self.workdir) / "done").exists()

        def update(self) -> None:
            self.touch("done")
            self.log("created")

    env, result = setup(tmp_path, Once)
    events: list[dict[str, Any]] = []
    output.attach(events.append)
    try:
        first = converge_host(env.hosts["here"], result.order, events.append)
    finally:
        output.attach(None)
    assert first.components[0].outcome == "changed"
    [log] = [e for e in events if e["event"] == "log"]
    assert (log["host"], log["component"], log["message"]) == ("here", "once", "created")
    second, _ = converge(env, result)
    assert second.components[0].outcome == "unchanged"


def test_slow_components_are_reported(tmp_path: Path) -> None:
    from components_runtime.engine.converge import _report_slow

    env, _ = setup(tmp_path, Lone)
    component = env.root_components[0].component
    messages: list[str] = []
    output.attach(lambda event: messages.append(event["message"]))
    try:
        _report_slow(component, {"sub": 0.5, "verify": 0.5, "update": 0.5})
        _report_slow(component, {"sub": 0.0, "verify": 2.0, "update": 0.0})
    finally:
        output.attach(None)
    assert messages == ["Lone [total=2.00s, verify=2.00s, update=0.00s, sub=0.00s]"]


def test_debug_explains_each_verify(tmp_path: Path) -> None:
    class Explained(Component):
        namevar = "name"

        def verify(self) -> None:
            if self.name == "b":
                raise UpdateNeeded("mode 644, want 600")
            if self.name == "c":
                raise AssertionError()  # as a bare `assert` does: no message

        def why_unchanged(self) -> str:
            return "already fine"

    class Root(Component):
        def configure(self) -> None:
            self += Explained("a")
            self += Explained("b")
            self += Explained("c")

    env, result = setup(tmp_path, Root)
    messages: list[str] = []
    output.attach(lambda event: messages.append(event["message"]), debug=True)
    try:
        converge(env, result)
    finally:
        output.attach(None)
    assert messages == [
        "Root > Explained('a'): unchanged: already fine",
        "Root > Explained('b'): needs update: mode 644, want 600",
        "Root > Explained('c'): needs update: verify() raised AssertionError",
    ]


def test_a_nonsense_declared_timeout_is_ignored_with_a_warning(tmp_path: Path) -> None:
    class Odd(Lone):
        deployd_timeout = "soon"

    env, result = setup(tmp_path, Odd)
    messages: list[str] = []
    output.attach(lambda event: messages.append(event["message"]))
    try:
        _, events = converge(env, result)
    finally:
        output.attach(None)
    assert events[0]["timeout"] is None
    assert any("deployd_timeout = 'soon' is not a number" in m for m in messages)


class OddFailure(Exception):
    def __str__(self) -> str:
        raise RuntimeError("__str__ fails too")


class Odd(Component):
    def verify(self) -> None:
        raise OddFailure()


def test_a_failure_whose_text_fails_is_a_located_component_error(tmp_path: Path) -> None:
    env, result = setup(tmp_path, Odd)
    outcome, _ = converge(env, result, base_dir=Path(__file__).parent)
    [error] = outcome.errors
    assert error.message.startswith("OddFailure: (its message cannot be shown")
    assert (error.file, error.component) == ("test_converge.py", "odd")
