"""Rendering worker events, results and errors as text (daemon/render.py)."""

from __future__ import annotations

import pytest

from components_runtime.protocol import ComponentResult, ErrorInfo
from daemon.cli import render


@pytest.mark.parametrize(
    ("event", "debug", "line"),
    [
        ({"event": "component-announced", "host": "web", "path": "App > File('x')"}, False,
         "web > App > File('x')"),
        ({"event": "component-changed", "host": "web", "path": "App > File('x')"}, False,
         None),  # its line was announced before the update
        ({"event": "log", "level": "info", "host": "web", "component": "app", "message": "hi"},
         False, "web: app: hi"),
        ({"event": "log", "level": "warning", "host": None, "component": None, "message": "w"},
         False, "WARNING: w"),
        ({"event": "log", "level": "warning", "host": "web", "component": "app",
          "message": "two\nlines"}, False, "web: app: WARNING: two\nweb: app: lines"),
        ({"event": "log", "level": "debug", "host": "web", "component": None, "message": "d"},
         False, None),
        ({"event": "log", "level": "debug", "host": "web", "component": None, "message": "d"},
         True, "web: d"),
        ({"event": "component-started", "host": "web", "component": "app"}, False, None),
        ({"event": "component-finished", "host": "web", "component": "app"}, False, None),
        ({"event": "component-finished", "host": "web", "component": "app", "outcome": "changed",
          "duration": 1.234}, True, "web: app: changed (1.23s)"),
    ],
)  # fmt: skip
def test_event_lines(event: dict[str, object], debug: bool, line: str | None) -> None:
    assert render.event_line(event, debug=debug) == line


def test_summary_lines() -> None:
    results = [ComponentResult("a", "changed"), ComponentResult("b", "unchanged"),
               ComponentResult("c", "skipped")]  # fmt: skip
    assert render.summary_line("apply", "succeeded", results, 1.234) == (
        "apply: 1 changed, 1 unchanged, 0 failed, 1 skipped (1.23s)"
    )
    assert render.summary_line("predict", "succeeded", results[1:2], 0.5) == (
        "predict: 0 would change, 1 unchanged, 0 failed (0.50s) - no changes"
    )
    assert render.summary_line("apply", "cancelled", results[:1], 0).endswith("- CANCELLED")
    failed = [ComponentResult("a", "failed"), ComponentResult("b", "not-attempted")]
    assert render.summary_line("apply", "failed", failed, 0.2) == (
        "apply: 0 changed, 0 unchanged, 1 failed, 1 not attempted (0.20s) - FAILED"
    )
    assert render.summary_line("apply", "failed", [], 0.1) == (
        "apply: nothing was converged (0.10s) - FAILED"
    )


def test_error_report() -> None:
    error = ErrorInfo(kind="ResourceError", message="Unused resource 'k'", file="c.py", line=3,
                      section="component:a", component="a", host="h", hint="remove it",
                      details=("a (h): 1",))  # fmt: skip
    assert render.error_report([error, ErrorInfo(kind="X", message="m")]) == [
        "Error: ResourceError: Unused resource 'k'",
        "    location:  c.py:3",
        "    section:   [component:a]",
        "    component: a",
        "    host:      h",
        "    hint:      remove it",
        "      a (h): 1",
        "",
        "Error: X: m",
        "",
        "2 errors",
    ]
