"""The loop's state transitions as functions: old HostState in, new HostState out.

Kept apart from ``loop.owner`` so the loop reads as a lifecycle, and so each transition can be
read (and tested) on its own. Only the loop thread calls these.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import signal
import time
from dataclasses import replace
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from daemon.config import Settings
from daemon.git import FetchError, Mirror, redact
from daemon.records import (
    TRIGGERS,
    CommitInfo,
    DebuggerInfo,
    ErrorRecord,
    HostState,
    LiveStatus,
    RunRecord,
    StatusSnapshot,
)
from daemon.state import StateStore, is_run_id

log = logging.getLogger(__name__)


def poll(state: HostState, mirror: Mirror) -> tuple[HostState, bool, FetchError | None]:
    """Ask the remote for the branch head; fetch only when it moved.
    Returns the new state, whether the upstream head changed, and the error if any."""
    started = time.monotonic()
    now = time.time()
    try:
        remote = mirror.remote_head()
        outcome = "unchanged"
        if remote != mirror.local_head():
            mirror.fetch()
            outcome = "fetched"
        upstream = state.upstream
        if upstream is None or upstream.sha != remote:
            # A remote behind what we know (a bundle brought newer commits) does not take the
            # newer head away: the bundle's head stays the candidate.
            if upstream is None or not mirror.is_ancestor(remote, upstream.sha):
                upstream = mirror.commit_info(remote)
            else:
                log.debug("fetch: remote %s is behind %s: keeping it", remote[:12], upstream.sha)
    except FetchError as error:
        state = replace(state, last_fetch_at=now, last_fetch_error=str(error))
        return state.count("fetch_total", outcome="failed"), False, error
    moved = state.upstream is None or state.upstream.sha != upstream.sha
    if moved:
        log.info("fetch: %s at %s (%s)", mirror.branch, upstream.sha[:12], upstream.subject)
    state = replace(
        state,
        upstream=upstream,
        last_fetch_at=now,
        last_fetch_success_at=now,
        last_fetch_error=None,
        # a refusal is about the head it judged: once the branch points elsewhere (put back on
        # the deployed commit, say) it no longer holds; a new head is judged by the next run
        refused_commit=state.refused_commit if upstream.sha == state.refused_commit else None,
    )
    state = state.count("fetch_total", outcome=outcome)
    return state.observe("fetch_duration_seconds", time.monotonic() - started), moved, None


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
    note = getattr(state, "note_changed_components", None)
    return note(record) if note else state


def control(
    state: HostState, mirror: Mirror, action: str, argument: str | None
) -> tuple[HostState, dict[str, Any], bool]:
    """suspend / resume / trust. Returns (state, answer, converge now?); ValueError if refused."""
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
        state = replace(state, ratchet=sha, refused_commit=None)
        return state, {"message": f"trusted {sha[:12]}; converging"}, True
    raise ValueError(f"unknown action {action!r}")


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


def recover(state: HostState, store: StateStore) -> HostState:
    """After a crash (``kill -9``) mid-run: stop the orphaned worker, record the run as crashed."""
    marker = store.read_running()
    if marker is None:
        return state
    kill_worker(marker.get("worker_pid"))
    run_id = str(marker.get("id") or "")
    if not is_run_id(run_id):  # a damaged marker: record the interruption under a new id
        run_id = store.new_run_id()
    stored = store.get_run(run_id)
    if stored is not None:  # killed after the record was written: finish the bookkeeping
        if state.last_run != run_id:
            state = apply_record(state, stored)
            store.save(state)
        store.clear_running()
        return state
    commit = CommitInfo(sha=str(marker["commit"])) if marker.get("commit") else None
    started = marker.get("started_at")
    if not isinstance(started, int | float) or isinstance(started, bool):
        started = time.time()
    trigger = marker.get("trigger")
    record = RunRecord(
        id=run_id,
        trigger=trigger if trigger in TRIGGERS else "startup",
        outcome="crashed",
        started_at=started,
        finished_at=time.time(),
        commit=commit,
        reason="daemon-restarted",
        errors=(
            ErrorRecord(
                kind="DaemonRestarted",
                message="the daemon stopped while this run was in flight",
                hint="the run is retried by the start-up converge",
            ),
        ),
    )
    log.warning("state: run %s was interrupted by a daemon restart; recorded as crashed", run_id)
    store.write_run(record)
    store.clear_running()
    state = apply_record(state, record)
    store.save(state)
    return state


def stop_between_components(cancel: Any, worker_pid: int | None) -> None:
    """Ask the run to stop after its current component: set the runner's cancel flag, and
    signal the worker at once ourselves (the runner only looks at its flag every 0.1 s, and a
    component ending in that window would let the next one start)."""
    cancel.set()
    if worker_pid:
        try:
            os.kill(worker_pid, signal.SIGUSR1)
        except ProcessLookupError:
            pass


def kill_worker(pid: Any) -> None:
    """Kill an orphaned worker's process group, but only if the pid is still our worker."""
    if not pid:
        return
    try:
        cmdline = Path(f"/proc/{int(pid)}/cmdline").read_bytes()
    except (OSError, ValueError):
        return
    if b"components_runtime.worker" not in cmdline:
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(int(pid), sig)
        except ProcessLookupError:
            return
        for _ in range(50):
            if not Path(f"/proc/{int(pid)}").exists() or _is_zombie(int(pid)):
                return
            time.sleep(0.1)


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z")
    except (OSError, IndexError):
        return True


def refused(
    run_id: str, trigger: str, upstream: CommitInfo, state: HostState, settings: Settings
) -> RunRecord:
    """The record of a rewritten branch (not a fast-forward of the ratchet)."""
    log.error(
        "fetch: %s is not a fast-forward of the deployed %s: refused; run `deployd trust SHA` "
        "to accept it",
        upstream.sha[:12],
        (state.ratchet or "")[:12],
    )
    now = time.time()
    return RunRecord(
        id=run_id,
        trigger=trigger,
        outcome="refused",
        started_at=now,
        finished_at=now,
        commit=upstream,
        environment=settings.environment,
        host=settings.host_name,
        reason="not-fast-forward",
        errors=(
            ErrorRecord(
                kind="NotFastForward",
                message=f"{upstream.sha[:12]} does not descend from the deployed commit: "
                "the branch history was rewritten",
                hint="push a commit on top of the deployed one, or run `deployd trust SHA`",
            ),
        ),
    )


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


def status_line(snapshot: StatusSnapshot) -> str:
    """The one-line summary for systemd's STATUS= and ``deployd status --oneline``."""
    state, live = snapshot.state, snapshot.live
    deployed = state.last_good.sha[:7] if state.last_good else "nothing"
    parts = [f"{snapshot.host}: deployed {deployed}"]
    if snapshot.last_run:
        parts.append(f"last run {snapshot.last_run.outcome}")
    if live.running_run_id:
        commit = (live.running_commit or "")[:7]
        parts.append(
            f"converging {commit}"
            + (f" ({live.running_component})" if live.running_component else "")
        )
    if state.upstream and state.last_good and state.upstream.sha != state.last_good.sha:
        parts.append(f"behind ({state.upstream.sha[:7]} upstream)")
    if state.refused_commit:
        parts.append(f"REFUSING rewritten {state.refused_commit[:7]}")
    if state.suspended_reason:
        parts.append(f"SUSPENDED: {state.suspended_reason}")
    if state.last_fetch_error:
        parts.append("fetch failing")
    if live.debugger:
        parts.append(f"debugger waiting on port {live.debugger.port}")
    return "; ".join(parts)


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


def splay_offset(host: str, splay: float) -> float:
    """A fixed fraction of ``splay`` for this host (the same after every restart)."""
    digest = hashlib.sha256(host.encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 * splay


def retry_delay(
    failures: int, transient: bool, poll_interval: float, retry_max: float, jitter: float
) -> float:
    """Seconds until the next poll after ``failures`` failed polls in a row.

    A transient failure (server away, timeout, 5xx) backs off exponentially (2, 4, 8 … s),
    capped by ``retry_max`` and by the poll interval, scaled by ``jitter`` (0.5-1.0, random)
    so a fleet does not come back at once; any other failure waits one poll interval."""
    if not transient:
        return poll_interval
    backoff = min(retry_max, 2.0 ** min(failures, 20))
    return min(poll_interval, backoff * jitter)
