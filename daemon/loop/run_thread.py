"""The run in flight: one thread converging one :class:`~daemon.runs.pipeline.RunPlan`.

The loop owns a :class:`RunThread` while a run is in flight. The thread converges under the
host's run lock and always ends by putting a :class:`~daemon.loop.messages.RunDone` on the loop's
queue (a run that could not even start is still a record); worker events go there too. Stopping
it has two strengths: between components (``cancel``, SIGUSR1), and now (``abort``, when the
daemon's shutdown grace is over).
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from daemon.git import Mirror
from daemon.loop.messages import RunDone, RunEvent
from daemon.rollout import guard
from daemon.runs import RunPlan, converge_locked, crashed_record
from daemon.worker import kill_worker, stop_between_components

log = logging.getLogger(__name__)


@dataclass
class RunThread:
    plan: RunPlan
    mirror: Mirror
    state_dir: Path
    messages: queue.Queue[object]
    worker_pid: int | None = None  # from the worker's hello event
    # root components the worker reported finished (kept in running.json: a restart after a
    # crash records them)
    finished: list[dict[str, Any]] = field(default_factory=list)
    cancel: threading.Event = field(default_factory=threading.Event)
    abort: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread = field(init=False)

    def __post_init__(self) -> None:
        name = f"run-{self.plan.run_id}"
        self.thread = threading.Thread(target=self._converge, name=name, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop_between_components(self) -> None:
        stop_between_components(self.cancel, self.worker_pid)

    def stop(self, grace: float, kill_grace: float) -> None:
        """Shutdown: let the running component finish for up to ``grace`` seconds, then abort
        (the runner sends SIGTERM, and SIGKILL after ``kill_grace``)."""
        self.stop_between_components()
        log.info("shutdown: letting run %s finish its component", self.plan.run_id)
        self.thread.join(grace)
        if not self.thread.is_alive():
            return
        log.warning("shutdown: grace of %gs over, aborting the worker", grace)
        self.abort.set()
        self.thread.join(kill_grace + 5)
        if self.thread.is_alive():  # the runner itself is stuck: last resort
            kill_worker(self.worker_pid)
            self.thread.join(5)

    def _converge(self) -> None:
        plan = self.plan
        on_event = lambda event: self.messages.put(RunEvent(plan.run_id, event))  # noqa: E731
        try:
            record = converge_locked(
                plan,
                self.mirror,
                self.state_dir,
                on_event,
                self.cancel,
                self.abort,
                # the health gate, under the same lock: checks, and the rollback if one fails
                after=lambda done: guard(plan, self.mirror, done, on_event, self.abort),
            )
        except Exception as error:  # e.g. the run lock cannot be opened: still a record
            log.exception("run %s: could not run", plan.run_id)
            record = crashed_record(plan, error)
        self.messages.put(RunDone(record))
