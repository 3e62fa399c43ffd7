"""Worker events, errors and results as text lines (what ``deployd apply`` / ``check`` print).

* a component: ``localhost > Hello > File('work/hello/hello')``, printed (as in batou) before
  what it prints while it verifies and before its update; never for one that is unchanged and
  silent. ``component-changed`` itself prints nothing: its line came first.
* a message:  ``localhost: hello: configured 47`` (warnings prefixed ``WARNING:``)
* the summary: ``apply: 2 changed, 3 unchanged, 0 failed (0.41s)``
* the error report: one block per error (kind and message, then location, section, component,
  host, hint and details), then ``N errors``.

Pure functions: they never print, so tests and the daemon can reuse them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from components_runtime.protocol import ComponentResult, ErrorInfo


def event_line(event: dict[str, Any], debug: bool = False) -> str | None:
    """The line to print for one worker event, or None for events shown only in the summary."""
    kind = event.get("event")
    if kind == "component-announced":  # before what the component prints, and its update
        return f"{event.get('host')} > {event.get('path')}"
    if kind == "log":
        level = event.get("level", "info")
        if level == "debug" and not debug:
            return None
        prefix = "".join(f"{part}: " for part in (event.get("host"), event.get("component"))
                         if part)  # fmt: skip
        marker = {"warning": "WARNING: ", "error": "ERROR: "}.get(level, "")
        # Every line of a multi-line message keeps the prefix: `grep 'web: app:'` finds it all.
        first, *more = str(event.get("message", "")).split("\n")
        return "\n".join([f"{prefix}{marker}{first}", *(f"{prefix}{line}" for line in more)])
    if kind == "debugger-waiting":
        return (
            f"{event.get('host')}: breakpoint at {event.get('file')}:{event.get('line')}: "
            f"waiting for the debugger: nc -C 127.0.0.1 {event.get('port')}"
        )
    if debug and kind == "component-started":
        return f"{event.get('host')}: {event.get('component')}: started"
    if debug and kind == "component-finished":  # --debug's timing of each root component
        duration = float(event.get("duration") or 0.0)
        outcome = event.get("outcome")
        return f"{event.get('host')}: {event.get('component')}: {outcome} ({duration:.2f}s)"
    return None


def location(error: ErrorInfo) -> str | None:
    if not error.file:
        return None
    return f"{error.file}:{error.line}" if error.line else error.file


def error_block(error: ErrorInfo, label: str = "Error") -> list[str]:
    lines = [f"{label}: {error.kind}: {error.message}"]
    fields = (
        ("location", location(error)),
        ("section", f"[{error.section}]" if error.section else None),
        ("component", error.component),
        ("host", error.host),
        ("hint", error.hint),
    )
    lines.extend(f"    {name + ':':<11}{value}" for name, value in fields if value)
    lines.extend(f"      {detail}" for detail in error.details)
    return lines


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def error_report(errors: Sequence[ErrorInfo]) -> list[str]:
    lines: list[str] = []
    for error in errors:
        lines.extend(error_block(error))
        lines.append("")
    lines.append(plural(len(errors), "error"))
    return lines


def warning_report(warnings: Sequence[ErrorInfo]) -> list[str]:
    """Findings that do not fail a check, each laid out as an error is."""
    return [line for warning in warnings for line in (*error_block(warning, "WARNING"), "")]


def summary_line(
    mode: str, outcome: str, components: Iterable[ComponentResult], duration: float
) -> str:
    components = list(components)
    if not components and outcome != "succeeded":
        return f"{mode}: nothing was converged ({duration:.2f}s) - {outcome.upper()}"
    counts = {"changed": 0, "unchanged": 0, "failed": 0, "skipped": 0}
    for component in components:
        counts[component.outcome] = counts.get(component.outcome, 0) + 1
    changed = "would change" if mode == "predict" else "changed"
    text = (
        f"{mode}: {counts['changed']} {changed}, {counts['unchanged']} unchanged, "
        f"{counts['failed']} failed"
    )
    if counts["skipped"]:
        text += f", {counts['skipped']} skipped"
    if counts.get("not-attempted"):
        text += f", {counts['not-attempted']} not attempted"
    text += f" ({duration:.2f}s)"
    if outcome != "succeeded":
        text += f" - {outcome.upper()}"
    elif not counts["changed"]:
        text += " - no changes"
    return text


__all__ = ["error_block", "error_report", "event_line", "location", "plural", "summary_line"]
