"""What a worker got done, rebuilt from its event stream.

A worker that crashes or is killed never sends its result, but its ``component-finished`` events
did arrive: :class:`WorkerProgress` keeps them, so the run record (and ``apply``'s summary) still
lists the components converged before the crash, and the one the worker was in, as failed.
"""

from __future__ import annotations

from typing import Any

from components_runtime.protocol import ComponentResult


class WorkerProgress:
    """Which root components the worker reported finished, and which one it is in."""

    def __init__(self) -> None:
        self.finished: list[ComponentResult] = []
        self.changed: dict[str, list[str]] = {}
        self.current: tuple[str, float] | None = None

    def observe(self, event: dict[str, Any], now: float) -> None:
        kind, component = event["event"], str(event.get("component") or "")
        if kind == "component-started":
            self.current = (component, now)
        elif kind == "component-changed":
            self.changed.setdefault(component, []).append(str(event.get("path") or component))
        elif kind == "component-finished":
            self.current = None
            self.finished.append(
                ComponentResult(
                    component=component,
                    outcome=event.get("outcome") or "failed",
                    duration=float(event.get("duration") or 0.0),
                    changed_paths=tuple(self.changed.pop(component, ())),
                )
            )

    def components(self, now: float) -> tuple[ComponentResult, ...]:
        if self.current is None:
            return tuple(self.finished)
        component, since = self.current
        interrupted = ComponentResult(component=component, outcome="failed", duration=now - since)
        return (*self.finished, interrupted)
