"""The loop's state transitions as functions: old HostState in, new HostState out.

Kept apart from ``loop.owner`` so the loop reads as a lifecycle, and so each transition can be
read (and tested) on its own. Only the loop thread calls these.
"""

from __future__ import annotations

import functools
import logging
import time
from dataclasses import replace
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from daemon.config import Settings
from daemon.git import Mirror, redact
from daemon.loop.messages import Control
from daemon.records import (
    DebuggerInfo,
    ErrorRecord,
    HostState,
    LiveStatus,
    RunRecord,
    StatusSnapshot,
    TrustOverride,
)

log = logging.getLogger(__name__)


def apply_record(state: HostState, record: RunRecord) -> HostState:
    """Fold one finished run into the host state (counters, last good, histograms)."""
    state = state.count("runs_total", outcome=record.outcome, trigger=record.trigger)
    state = state.observe("run_duration_seconds", record.duration)
    state = replace(state, last_run=record.id)
    if record.outcome == "refused" and record.reason:
        state = state.count("refused_total", reason=record.reason)
    if record.venv_outcome:
        state = state.count("venv_builds_total", outcome=record.venv_outcome)
        if record.venv_outcome == "built" and record.venv_duration is not None:
            state = state.observe("venv_build_duration_seconds", record.venv_duration)
    if record.outcome == "succeeded" and record.commit:
        first_time = state.last_good is None or state.last_good.sha != record.commit.sha
        if first_time and record.commit.timestamp:
            delay = max(0.0, record.finished_at - record.commit.timestamp)
            state = state.observe("push_to_converged_seconds", delay)
        state = replace(
            state, last_good=record.commit, last_good_run=record.id, last_good_at=record.finished_at
        )
    return state.note_changed_components(record)


def control(
    state: HostState, mirror: Mirror, request: Control
) -> tuple[HostState, dict[str, Any], bool]:
    """suspend / resume / trust. Returns (state, answer, converge now?); ValueError if refused."""
    action, argument = request.action, request.argument
    if action == "suspend":
        reason = argument or "no reason given"
        return (
            replace(state, suspended_reason=reason, suspended_at=time.time()),
            {"message": f"suspended: {reason}"},
            False,
        )
    if action == "resume":
        behind = state.upstream is not None and (
            state.last_good is None or state.last_good.sha != state.upstream.sha
        )
        resumed = replace(state, suspended_reason=None, suspended_at=None)
        return resumed, {"message": "resumed"}, behind
    if action == "trust":
        sha = mirror.resolve(argument or "")
        if not argument or sha is None:
            raise ValueError(f"unknown commit {argument!r}: it must be in the fetched history")
        mirror.set_ratchet(sha)
        who = request.requester or "unknown"
        log.warning(
            "trust: %s moved the ratchet to %s by hand (it was %s%s)",
            who,
            sha[:12],
            (state.ratchet or "none")[:12],
            f"; refused: {state.refusal.reason}" if state.refusal else "",
            extra={"commit": sha, "uid": str(request.uid)},
        )
        override = TrustOverride(commit=sha, by=who, at=time.time(), uid=request.uid)
        state = replace(state, ratchet=sha, refused_commit=None, refusal=None, trusted=override)
        return state, {"message": f"trusted {sha[:12]} (recorded as by {who}); converging"}, True
    raise ValueError(f"unknown action {action!r}")


def trusted_for(state: HostState, sha: str) -> TrustOverride | None:
    """The `deployd trust` that admitted ``sha``, for the records of the runs converging it."""
    return state.trusted if state.trusted and state.trusted.commit == sha else None


def live_from_event(live: LiveStatus, event: dict[str, Any]) -> tuple[LiveStatus, int | None]:
    """Update what only the running loop knows from one worker event; return a worker pid
    when the event announces one."""
    kind = event.get("event")
    if kind == "hello":
        return live, int(event.get("pid") or 0) or None
    if kind == "component-started":
        return replace(live, running_component=event.get("component")), None
    if kind == "component-finished":
        return replace(live, running_component=None), None
    if kind == "debugger-waiting":
        debugger = DebuggerInfo(
            host=str(event.get("host") or "127.0.0.1"),
            port=int(event.get("port") or 0),
            file=event.get("file"),
            line=event.get("line"),
            since=float(event.get("t") or time.time()),
        )
        return replace(live, debugger=debugger), None
    if kind == "debugger-done":
        return replace(live, debugger=None), None
    return live, None


def bad_bundle(run_id: str, path: str, message: str, settings: Settings) -> RunRecord:
    now = time.time()
    return RunRecord(
        id=run_id,
        trigger="inbox",
        outcome="refused",
        started_at=now,
        finished_at=now,
        environment=settings.environment,
        host=settings.host_name,
        reason="bad-bundle",
        errors=(
            ErrorRecord(
                kind="BadBundle",
                message=message,
                file=path,
                hint="the bundle was moved to the inbox's failed/ folder",
            ),
        ),
    )


def snapshot(
    settings: Settings, url: str, state: HostState, live: LiveStatus, last: RunRecord | None
) -> StatusSnapshot:
    """The immutable answer to ``GET /status``, with credentials removed from the URL."""
    return StatusSnapshot(
        host=settings.host_name,
        environment=settings.environment,
        repository=redact(url),
        branch=settings.branch,
        platform=last.platform if last else None,
        state=state,
        live=live,
        last_run=last,
        version=_version(),
    )


@functools.cache
def _version() -> str:
    try:
        return version("deployd")
    except PackageNotFoundError:
        return ""


def finished_component(event: dict[str, Any]) -> dict[str, Any]:
    """A ``component-finished`` event as the running marker keeps it (see recovery)."""
    duration = event.get("duration")
    return {
        "component": str(event.get("component") or ""),
        "outcome": str(event.get("outcome") or "failed"),
        "duration": float(duration) if isinstance(duration, int | float) else 0.0,
    }
