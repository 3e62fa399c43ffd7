"""Start-up after a crash: finish the bookkeeping of the run that was in flight."""

from __future__ import annotations

import logging
import time

from daemon.loop.transitions import apply_record
from daemon.records import TRIGGERS, CommitInfo, ErrorRecord, HostState, RunRecord
from daemon.state import StateStore, is_run_id
from daemon.worker import kill_worker

log = logging.getLogger(__name__)


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
