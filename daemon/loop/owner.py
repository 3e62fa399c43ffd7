"""The daemon loop: the one owner of the host's state.

Lifecycle, top to bottom: :meth:`Loop.startup` (recover from a crash, schedule the first
converge), :meth:`Loop.tick` (handle one message, poll when due, start a run when one is
pending), :meth:`Loop.shutdown` (let the running component finish, with a grace limit).

Everything else talks to the loop through :attr:`Loop.queue` (triggers, control requests, worker
events, finished runs) or reads :attr:`Loop.snapshot`, an immutable
:class:`~daemon.records.model.StatusSnapshot` replaced after every tick. Signal handlers only call
:meth:`request_stop`. A run executes in one run thread (``daemon.loop.run_thread``, which calls
``daemon.runs.pipeline``); the loop keeps polling meanwhile, so triggers collapse into one pending
run and a newer commit can cancel the current run between components.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import replace
from typing import Any

from daemon.config import Settings
from daemon.git import FetchError, Mirror, SshOptions, import_bundle
from daemon.loop import transitions
from daemon.loop.admission import Admission
from daemon.loop.health import tick_failed
from daemon.loop.messages import Control, RunDone, RunEvent, Trigger
from daemon.loop.polling import poll
from daemon.loop.rebuild import rebuild_if_lost
from daemon.loop.recovery import recover
from daemon.loop.run_start import mark_running, plan_run
from daemon.loop.run_thread import RunThread
from daemon.loop.schedule import PollSchedule, splay_offset
from daemon.observe import Notifier, log_run_outcome, log_worker_event, watchdog_interval
from daemon.records import CommitInfo, LiveStatus, RunRecord, StatusSnapshot, status_line
from daemon.rollout import Gate, apply_rollout_record
from daemon.state import StateStore

log = logging.getLogger(__name__)
# Triggers that mean "look now": they converge only when the head differs from the last run's
# commit (so a push seen by both the watcher and a poll converges once). The others
# (startup, schedule, api, manual) always converge.
POLL_ONLY = ("poll", "push", "webhook", "inbox")


class Loop:
    def __init__(self, settings: Settings, store: StateStore, notifier: Notifier | None = None):
        self.settings = settings
        self.store = store
        self.mirror = Mirror(
            store.mirror_dir,
            settings.repository,
            settings.branch,
            timeout=settings.limits.fetch,
            ssh=SshOptions(settings.ssh_key, settings.ssh_known_hosts),
        )
        self.notifier = notifier or Notifier()
        self.gate = Gate(settings, self.mirror, store.state_dir / "rollout")
        self.queue: queue.Queue[object] = queue.Queue()
        self.state = store.load()
        self._admission = Admission(settings, self.mirror, store.state_dir)
        self.live = LiveStatus(daemon_started_at=time.time())
        self.last_record: RunRecord | None = None
        self.snapshot: StatusSnapshot = self._make_snapshot()
        self._stop = threading.Event()
        self._running: RunThread | None = None
        self._pending: str | None = None
        self._waiters: list[Future[dict[str, Any]]] = []
        self._polls = PollSchedule(settings.poll_interval, settings.retry_max)
        self._next_converge = 0.0
        self._watchdog = watchdog_interval()
        self._last_watchdog = 0.0

    # -- lifecycle -------------------------------------------------------------------------
    def run_forever(self, on_ready: Any = None) -> None:
        self.startup()
        if on_ready:
            on_ready()
        failures = 0
        while not self._stop.is_set():
            try:
                self.tick()
                if failures:
                    log.warning("loop: working again after %d failed ticks", failures)
                    self.live = replace(self.live, loop_error=None, loop_failing_since=None)
                failures = 0
            except Exception as error:  # a bug or a broken disk must not end the daemon here
                failures += 1
                self._tick_failed(error, failures)
        self.shutdown()

    def _tick_failed(self, error: Exception, failures: int) -> None:
        """Log it, show it (``deployd status``), back off (see loop.health). A loop that keeps
        failing stops sending WATCHDOG=1, so systemd restarts it."""
        self.live, delay = tick_failed(self.live, error, failures)
        self.snapshot = self._make_snapshot()
        self.notifier.status(status_line(self.snapshot))
        self._stop.wait(delay)

    def request_stop(self, wake: bool = True) -> None:
        """Ask the loop to stop. From a signal handler pass ``wake=False``: only a flag is set
        (taking the queue's lock there could deadlock) and a git command of a poll is ended;
        the loop sees it within a second."""
        self._stop.set()
        self.mirror.abort()  # a poll stuck on a hung git server ends now
        if wake:
            self.queue.put(None)

    def startup(self) -> None:
        self.store.ensure()
        self.state = rebuild_if_lost(self.state, self.store, self.mirror)
        self.state = recover(self.state, self.store)
        self.state = self._admission.adopt_copy(self.state)
        self.store.save(self.state)
        self.last_record = self.store.get_run(self.state.last_run) if self.state.last_run else None
        self._pending = "startup"
        self._next_converge = time.time() + self.converge_delay()
        self._publish()

    def tick(self, max_wait: float = 1.0) -> None:
        self._polls.new_tick()
        now = time.time()
        wait = max(0.0, min(max_wait, self._polls.next_at - now))
        if self._startable():
            wait = 0.0
        try:
            self._handle(self.queue.get(timeout=wait))
            while True:  # drain what arrived meanwhile: triggers collapse
                self._handle(self.queue.get_nowait())
        except queue.Empty:
            pass
        now = time.time()
        if now >= self._polls.next_at:
            self._poll(now, "poll")
        if now >= self._next_converge and not self._pending:
            self._pending = "schedule"
        if self.gate.due(now) and not self._pending:  # a held commit's window or delay
            self._pending = "poll"
        if self._startable():
            self._start(self._pending or "schedule")
        self._publish()

    def shutdown(self) -> None:
        self.notifier.stopping()
        if self._running:
            self._running.stop(self.settings.shutdown_grace, self.settings.limits.grace)
            self._drain_done()
        self._answer({"run_id": None, "message": "the daemon is stopping"})
        self._publish()

    # -- messages --------------------------------------------------------------------------
    def _handle(self, message: object) -> None:
        if isinstance(message, Trigger):
            self._on_trigger(message)
        elif isinstance(message, Control):
            self._on_control(message)
        elif isinstance(message, RunEvent):
            self._on_event(message)
        elif isinstance(message, RunDone):
            self._on_done(message.record)

    def _on_trigger(self, trigger: Trigger) -> None:
        log.debug("trigger: %s", trigger.kind)
        if trigger.bundle:
            if not self._import_bundle(trigger.bundle):
                return  # a bad bundle is recorded as refused; nothing else to do
        else:
            self._poll(time.time(), trigger.kind)
        if trigger.waiter:
            self._waiters.append(trigger.waiter)
            if self.state.upstream is None:  # nothing to converge yet: say why, keep it pending
                error = self.state.last_fetch_error
                self._answer({"run_id": None, "message": f"no upstream yet: {error}"})
        if not (self._pending and trigger.kind in ("poll", "schedule")):
            self._pending = trigger.kind
        self._cancel_if_superseded()

    def _on_control(self, control: Control) -> None:
        try:
            self.state, answer, converge_now = transitions.control(self.state, self.mirror, control)
        except ValueError as error:
            control.reply.set_result({"error": str(error)})
            return
        self.store.save(self.state)
        self._admission.keep_copy(self.state.ratchet)
        if converge_now:
            self._pending = "manual"
        control.reply.set_result(answer)

    def _on_event(self, message: RunEvent) -> None:
        running = self._running
        if not running or message.run_id != running.plan.run_id:
            return
        log_worker_event(running.plan.run_id, running.plan.commit.sha, message.event)
        self.live, pid = transitions.live_from_event(self.live, message.event)
        if message.event.get("event") == "component-finished":
            running.finished.append(transitions.finished_component(message.event))
        if pid or message.event.get("event") == "component-finished":
            running.worker_pid = pid or running.worker_pid
            self._mark_running(running)

    def _record(self, record: RunRecord) -> None:
        """Fold a record into the state and store both (also for refusals that ran nothing).
        Memory first: a disk that fails here still leaves the snapshot right."""
        self.state = transitions.apply_record(self.state, record)
        self.state = apply_rollout_record(self.state, record)
        self.last_record = record
        log_run_outcome(record)
        self.store.write_run(record)
        self.store.save(self.state)

    def _on_done(self, record: RunRecord) -> None:
        self._running = None
        if self._pending == "schedule":  # the run that just ended was the drift correction
            self._pending = None
        self.live = replace(
            self.live,
            running_run_id=None,
            running_since=None,
            running_commit=None,
            running_component=None,
            debugger=None,
        )
        delay = self.converge_delay()
        if record.reason == "locked":  # someone else converges: try again soon
            delay = self.settings.poll_interval
        self._next_converge = time.time() + delay
        self._record(record)
        self.store.clear_running()

    def _drain_done(self) -> None:
        try:
            while True:
                message = self.queue.get_nowait()
                if isinstance(message, RunDone):
                    self._on_done(message.record)
        except queue.Empty:
            pass

    def _import_bundle(self, path: str) -> bool:
        before = self.state.upstream
        self.state, error = import_bundle(self.state, self.mirror, path, self.store.state_dir)
        if self.state.upstream != before:  # a wave's delay counts from here, as after a poll
            self.state = replace(self.state, upstream_seen_at=time.time())
        if error:
            run_id = self.store.new_run_id()
            self._record(transitions.bad_bundle(run_id, path, error, self.settings))
        return error is None

    # -- poll and run ----------------------------------------------------------------------
    def _poll(self, now: float, why: str) -> None:
        if not self._polls.may_poll():  # git was slow in this tick already (poll_schedule)
            log.debug("%s: no second slow poll in this tick; it stays pending", why)
            return
        began = time.monotonic()
        self.state, moved, error = poll(self.state, self.mirror)
        if error is None and self.state.upstream is not None:
            self._polls.phase = self.gate.poll_phase(self.state.upstream.sha)
        delay = self._polls.polled(began, now, error)
        if error is None:
            if moved and why == "poll" and not self._pending:
                self._pending = "poll"
            if moved:  # a wave's delay counts from here
                self.state = replace(self.state, upstream_seen_at=time.time())
                self._cancel_if_superseded()
        else:
            log.warning("fetch: %s (retry in %.0fs)", error, delay)
        self.store.save(self.state)

    def _cancel_if_superseded(self) -> None:
        running, upstream = self._running, self.state.upstream
        if not running or not upstream or upstream.sha == running.plan.commit.sha:
            return
        if self.gate.holds(upstream, self.state, time.time()):
            return  # a head that waits (a window, a wave) must not stop the run in flight
        if self.mirror.is_ancestor(running.plan.commit.sha, upstream.sha):
            running.stop_between_components()
            log.info(
                "run %s: newer commit %s, stopping after the current component",
                running.plan.run_id,
                upstream.sha[:12],
            )
            self._pending = self._pending or "poll"

    def _startable(self) -> bool:
        """A pending run can start: nothing runs, we are not stopping, and either the upstream
        head is known or the answer "suspended" is due (no busy loop while git is away)."""
        if not self._pending or self._running or self._stop.is_set():
            return False
        return self.state.upstream is not None or bool(self.state.suspended_reason)

    def _start(self, trigger: str) -> None:
        if time.time() - self._polls.polled_at > 1.0 and trigger not in ("poll", "schedule"):
            self._poll(time.time(), trigger)  # a trigger that waited behind a run: look again
        upstream = self.state.upstream
        if self.state.suspended_reason:
            self._pending = None
            self._answer({"run_id": None, "message": f"suspended: {self.state.suspended_reason}"})
            return
        if upstream is None:
            self._answer(
                {"run_id": None, "message": f"no upstream yet: {self.state.last_fetch_error}"}
            )
            return  # stays pending until a poll succeeds
        self._pending = None
        last = self.last_record.commit if self.last_record else None
        seen = {self.state.ratchet, last.sha if last else None}
        if trigger in POLL_ONLY and upstream.sha in seen:
            log.debug("%s: %s is what the last run had: nothing to do", trigger, upstream.sha[:12])
            return
        verdict = self.gate.judge(trigger, upstream, self.state, time.time())
        self.live = replace(self.live, hold=verdict.hold)
        if verdict.commit is None:  # held, and nothing else to converge meanwhile
            self._answer({"run_id": None, "message": verdict.message})
            return
        run_id = self.store.new_run_id()
        if verdict.commit.sha == upstream.sha:
            commit = self._ratchet(run_id, trigger, upstream)
            if commit is None:
                return
        else:  # the head is held: converge the deployed commit again (drift correction)
            commit = verdict.commit
        plan = plan_run(self.settings, self.store, self.state, run_id, trigger, commit)
        self._running = RunThread(plan, self.mirror, self.store.state_dir, self.queue)
        self.live = replace(
            self.live,
            running_run_id=run_id,
            running_since=time.time(),
            running_commit=commit.sha,
            pending_trigger=None,
        )
        self._mark_running(self._running)
        self._running.start()
        log.info(
            "run %s: converging %s (%s) for %s",
            run_id,
            commit.sha[:12],
            commit.subject,
            trigger,
            extra={"run_id": run_id, "commit": commit.sha},
        )
        self._answer({"run_id": run_id})

    def _ratchet(self, run_id: str, trigger: str, upstream: CommitInfo) -> CommitInfo | None:
        """The commit the ratchet and the signature policy let us converge for ``upstream``
        (moving the ratchet forward), or None after recording why not (loop.admission)."""
        try:
            admission = self._admission.admit(self.state, upstream, run_id, trigger)
        except FetchError as error:  # a damaged mirror (moved aside): decide after the re-fetch
            log.warning("run: cannot judge %s yet: %s", upstream.sha[:12], error)
            self.state = replace(self.state, upstream=None, last_fetch_error=str(error))
            self._pending = trigger
            return None
        if admission.commit is None:  # refused, or the signatures could not be checked
            assert admission.record is not None  # admit() gives a commit or a record
            self.state = admission.refused(self.state, upstream)
            self._answer({"run_id": run_id})
            self._on_done(admission.record)
            return None
        if admission.advanced:
            self.state = self._admission.advance(self.state, admission.commit.sha)
            self.store.save(self.state)
        return admission.commit

    def _mark_running(self, running: RunThread) -> None:
        mark_running(self.store, self.settings, running, self.live.running_since or time.time())

    # -- helpers ---------------------------------------------------------------------------
    def _answer(self, answer: dict[str, Any]) -> None:
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(answer)
        self._waiters = []

    def converge_delay(self) -> float:
        """Converge interval plus this host's fixed splay, so a fleet spreads out."""
        splay = splay_offset(self.settings.host_name, self.settings.splay)
        return self.settings.converge_interval + splay

    def _publish(self) -> None:
        self.live = replace(
            self.live,
            next_poll_at=self._polls.next_at or None,
            next_converge_at=self._next_converge or None,
            pending_trigger=self._pending,
        )
        self.snapshot = self._make_snapshot()
        self.notifier.status(status_line(self.snapshot))
        now = time.monotonic()
        # At every tick (at most once a second), not only every WatchdogSec/2: then the longest
        # gap between pings is one tick, and one tick holds at most one slow poll.
        if self._watchdog and now - self._last_watchdog >= min(self._watchdog, 1.0):
            self._last_watchdog = now
            self.notifier.watchdog()

    def _make_snapshot(self) -> StatusSnapshot:
        return transitions.snapshot(
            self.settings, self.mirror.url, self.state, self.live, self.last_record
        )
