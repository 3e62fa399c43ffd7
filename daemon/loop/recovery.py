"""Start-up after a crash: finish the bookkeeping of the run that was in flight."""

from __future__ import annotations

import logging
import time
from typing import Any

from daemon.loop.transitions import apply_record
from daemon.records import TRIGGERS, CommitInfo, ComponentRecord, ErrorRecord, HostState, RunRecord
from daemon.state import StateStore, is_run_id
from daemon.worker import kill_worker

log = logging.getLogger(__name__)
_OUTCOMES = ("changed", "unchanged", "failed", "skipped")  # a component's, in the marker


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
    record = _crashed(run_id, marker)
    log.warning("state: run %s was interrupted by a daemon restart; recorded as crashed", run_id)
    store.write_run(record)
    store.clear_running()
    state = apply_record(state, record)
    store.save(state)
    return state


def _crashed(run_id: str, marker: dict[str, Any]) -> RunRecord:
    """The record of the run the marker describes: what it converged, for whom, until when
    (its last sign of life, not the restart: the daemon's downtime is no part of the run)."""
    text = {k: v for k, v in marker.items() if isinstance(v, str)}
    commit = (
        CommitInfo(sha=text["commit"], subject=text.get("subject", ""))
        if "commit" in text
        else None
    )
    started = _seconds(marker.get("started_at")) or time.time()
    finished = max(started, _seconds(marker.get("seen_at")) or time.time())
    listed = marker.get("components")
    components = tuple(
        ComponentRecord(
            component=str(c["component"]),
            outcome=c["outcome"],
            duration=_seconds(c.get("duration")),
        )
        for c in (listed if isinstance(listed, list) else [])
        if isinstance(c, dict) and c.get("outcome") in _OUTCOMES and "component" in c
    )
    trigger = marker.get("trigger")
    return RunRecord(
        id=run_id,
        trigger=trigger if trigger in TRIGGERS else "startup",
        outcome="crashed",
        started_at=started,
        finished_at=finished,
        commit=commit,
        environment=text.get("environment", ""),
        host=text.get("host", ""),
        components=components,
        reason="daemon-restarted",
        errors=(
            ErrorRecord(
                kind="DaemonRestarted",
                message="the daemon stopped while this run was in flight",
                hint="the run is retried by the start-up converge",
            ),
        ),
    )


def _seconds(value: Any) -> float:
    """A stored time or duration, or 0.0 when the marker holds something else."""
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0
