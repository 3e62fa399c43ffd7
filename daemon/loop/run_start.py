"""What a run starts from: its plan, read off the host's state, and the running mark.

The mark is stored before the worker starts and again after each finished component, so a
daemon that dies mid-run finds at start-up which run it was, which commit, and how far it got
(``daemon.loop.recovery``).
"""

from __future__ import annotations

import time

from daemon.config import Settings
from daemon.loop import transitions
from daemon.loop.run_thread import RunThread
from daemon.records import CommitInfo, HostState
from daemon.runs import RunPlan
from daemon.state import StateStore


def plan_run(
    settings: Settings,
    store: StateStore,
    state: HostState,
    run_id: str,
    trigger: str,
    commit: CommitInfo,
) -> RunPlan:
    """The plan of one run: the last good deployment's checkout and venv are kept (a failed
    run falls back to them), and the rollback target is the last good commit."""
    last_good_run = store.get_run(state.last_good_run) if state.last_good_run else None
    return RunPlan(
        run_id,
        trigger,
        commit,
        settings,
        store.checkouts_dir,
        store.venvs_dir,
        keep_checkout=state.last_good.sha if state.last_good else None,
        keep_venv=last_good_run.venv if last_good_run else None,
        rollback_to=state.last_good,
        trusted=transitions.trusted_for(state, commit.sha),
    )


def mark_running(
    store: StateStore, settings: Settings, running: RunThread, started_at: float
) -> None:
    """Store (or refresh) the mark of the run in flight, with the components it finished."""
    plan = running.plan
    store.mark_running(
        id=plan.run_id,
        trigger=plan.trigger,
        commit=plan.commit.sha,
        subject=plan.commit.subject,
        environment=settings.environment,
        host=settings.host_name,
        started_at=started_at,
        seen_at=time.time(),  # the last sign of life: a crashed run ends here
        worker_pid=running.worker_pid,
        components=running.finished,
    )
