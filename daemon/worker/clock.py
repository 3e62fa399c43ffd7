"""The time limits of one worker run, kept from its event stream (used by ``daemon.worker.spawn``).

Pure bookkeeping, no processes: feed it events with the monotonic time they arrived, ask for the
next deadline. While a debugger is open (``debugger-waiting`` .. ``debugger-done``) the run and
component clocks stand still and only the debug limit counts.
"""

from __future__ import annotations

from typing import Any

from components_runtime.protocol import ErrorInfo
from daemon.config import Limits

LIMIT_KEYS = {"run": "run_timeout", "component": "component_timeout", "debug": "debug_timeout"}


class Clock:
    def __init__(self, limits: Limits, started: float) -> None:
        self.limits = limits
        self.run_deadline = started + limits.run
        self.component: str | None = None
        self.component_limit: float | None = None
        self.component_deadline: float | None = None
        self.debugger_since: float | None = None

    def observe(self, event: dict[str, Any], now: float) -> None:
        kind = event.get("event")
        if kind == "component-started":
            self.component = event.get("component")
            self.component_limit = self.limits.component_limit(event.get("timeout"))
            self.component_deadline = now + self.component_limit
        elif kind == "component-finished":
            self.component = self.component_limit = self.component_deadline = None
        elif kind == "debugger-waiting" and self.debugger_since is None:
            self.debugger_since = now
        elif kind == "debugger-done" and self.debugger_since is not None:
            paused = now - self.debugger_since
            self.run_deadline += paused
            if self.component_deadline is not None:
                self.component_deadline += paused
            self.debugger_since = None

    def deadline(self) -> float:
        if self.debugger_since is not None:
            return self.debugger_since + self.limits.debug
        if self.component_deadline is not None:
            return min(self.run_deadline, self.component_deadline)
        return self.run_deadline

    def expired(self, now: float) -> str:
        """Which limit ran out: "debug", "component" or "run"."""
        if self.debugger_since is not None:
            return "debug"
        if self.component_deadline is not None and self.component_deadline <= self.run_deadline:
            return "component"
        return "run"

    def timeout_error(self, which: str, component: str | None) -> ErrorInfo:
        seconds = {
            "run": self.limits.run,
            "debug": self.limits.debug,
            "component": self.component_limit or self.limits.component,
        }[which]
        subject = {
            "run": "the run",
            "debug": "a debugger session",
            "component": f"component {component!r}",
        }[which]
        message = f"{subject} exceeded its time limit of {seconds:g}s"
        if which != "component" and component:
            message += f" while component {component!r} was running"
        hint = (
            f"raise {LIMIT_KEYS[which]} in the [deployd] section of environment.cfg or in "
            "the daemon's settings"
        )
        if which == "component":
            hint += ", or set deployd_timeout = SECONDS on the component class"
        return ErrorInfo(kind="Timeout", message=message, component=component, hint=hint)


__all__ = ["Clock"]
