"""The order of a converge's lines: the line naming a component comes before what it prints.

batou holds the component's line back while it verifies and prints it before the first message
(a diff, say) or before ``update()``; a component that stays silent and unchanged is not named.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from components_runtime.engine.configure import configure_environment
from components_runtime.engine.converge import converge_host
from components_runtime.engine.testing import add_root, make_environment
from components_runtime.errors import UpdateNeeded
from components_runtime.model.component import Component
from components_runtime.support.output import output
from daemon.cli.render import event_line


class Quiet(Component):
    def verify(self) -> None:
        pass

    def why_unchanged(self) -> str:
        return "nothing to do"


class Chatty(Component):
    """Prints while verifying, but needs no update."""

    def verify(self) -> None:
        self.log("all good")


class Differ(Component):
    """Prints a diff while verifying, then asks for an update that prints too."""

    def verify(self) -> None:
        self.log("  a.txt +new line")
        raise UpdateNeeded()

    def update(self) -> None:
        self.log("written")


class Silent(Component):
    """Needs an update without printing anything."""

    def verify(self) -> None:
        raise UpdateNeeded()


class Root(Component):
    def configure(self) -> None:
        self += Quiet()
        self += Chatty()
        self += Differ()
        self += Silent()


class Broken(Component):
    def verify(self) -> None:
        raise RuntimeError("disk on fire")


def lines(tmp_path: Path, factory: Any, *, predict: bool = False, debug: bool = False) -> list[str]:
    env = make_environment(tmp_path, {"here": None})
    add_root(env, factory, host="here")
    configured = configure_environment(env, tmp_path)
    assert configured.errors == []
    events: list[dict[str, Any]] = []
    output.attach(events.append, debug=debug)
    try:
        converge_host(env.hosts["here"], configured.order, events.append, predict=predict)
        output.log("after the run")  # nothing held back may surface here
    finally:
        output.attach(None)
    rendered = (event_line(event, debug=debug) for event in events)
    return [line for line in rendered if line is not None]


@pytest.mark.parametrize("predict", [False, True])
def test_each_component_is_named_before_what_it_prints(tmp_path: Path, predict: bool) -> None:
    update = [] if predict else ["here: root: written"]
    assert lines(tmp_path, Root, predict=predict) == [
        "here > Root > Chatty",
        "here: root: all good",
        "here > Root > Differ",
        "here: root:   a.txt +new line",
        *update,
        "here > Root > Silent",  # the root itself has no verify(): not named
        "after the run",
    ]


def test_debug_lines_about_unchanged_components_name_no_component(tmp_path: Path) -> None:
    assert lines(tmp_path, Root, predict=True, debug=True)[1:5] == [
        "here: root: Root > Quiet: unchanged: nothing to do",
        "here > Root > Chatty",
        "here: root: all good",
        "here > Root > Differ",
    ]


def test_a_failing_component_leaves_nothing_held_back(tmp_path: Path) -> None:
    assert lines(tmp_path, Broken) == ["after the run"]
