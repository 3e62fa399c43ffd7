"""Run one converge in a worker subprocess, enforce its time limits, collect events and result.

``run_worker(request, on_event, python=VENV_PYTHON, limits=..., cancel=...)`` starts
``python -m components_runtime.worker`` in a new session (its own process group), writes the
request, and reads the event stream (``components_runtime.protocol``). It returns a frozen
:class:`WorkerRun`; nothing raises for a failed, crashed or overrunning worker.

Time limits (``daemon.config.limits``; docs/timeouts.md) are kept from the event stream:

* the run limit from the start;
* the component limit from each ``component-started`` (its ``timeout``, the class's own
  ``deployd_timeout``, else ``limits.component``) until ``component-finished``;
* between ``debugger-waiting`` and ``debugger-done`` both clocks pause, up to ``limits.debug``.

Over a limit, the worker's whole process group gets SIGTERM, then SIGKILL after
``limits.grace`` (commands a component started die with it) and the run is ``timeout``,
naming the component that was running. Setting ``cancel`` sends SIGUSR1: the worker stops
between root components and reports ``cancelled``.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import IO, Any, Literal

from components_runtime.protocol import (
    ComponentResult,
    ErrorInfo,
    WorkerRequest,
    WorkerResult,
    decode_event,
)
from daemon.config import DEFAULT_LIMITS, Limits
from daemon.worker.clock import Clock
from daemon.worker.leftovers import end_leftovers
from daemon.worker.oom import oom_kill_count
from daemon.worker.progress import WorkerProgress

log = logging.getLogger(__name__)

WorkerOutcome = Literal["succeeded", "failed", "timeout", "crashed", "cancelled"]
STDERR_TAIL_BYTES = 16_000
POLL = 0.1  # seconds between checks of the cancel flag and of a worker that vanished
EXIT_WITHOUT_EOF = 1.0  # a worker gone this long while its stdout stays open (a forked child)
_EOF = object()


@dataclass(frozen=True)
class WorkerRun:
    outcome: WorkerOutcome
    result: WorkerResult | None  # the worker's own result; None when it crashed or was killed
    returncode: int | None
    signal: int | None  # the signal that ended the worker, if any
    stderr_tail: str
    timed_out_component: str | None
    duration: float
    error: ErrorInfo | None = None  # why a run is "timeout" or "crashed"
    # Rebuilt from the event stream: what a worker that never sent its result got done.
    finished: tuple[ComponentResult, ...] = ()
    leftovers: tuple[str, ...] = ()  # processes left in the worker's group, ended (leftovers)

    @property
    def components(self) -> tuple[ComponentResult, ...]:
        """The worker's own list; for a worker that crashed or was killed, the components it
        reported finished, then the one it was in, as failed (nothing done is forgotten)."""
        return self.result.components if self.result is not None else self.finished

    @property
    def errors(self) -> tuple[ErrorInfo, ...]:
        """Everything to report: the worker's errors, then the runner's own."""
        own = (self.error,) if self.error else ()
        return (self.result.errors if self.result else ()) + own


def run_worker(
    request: WorkerRequest,
    on_event: Callable[[dict[str, Any]], None] = lambda event: None,
    *,
    python: str | os.PathLike[str] = sys.executable,
    limits: Limits = DEFAULT_LIMITS,
    cancel: threading.Event | None = None,
    env: Mapping[str, str] | None = None,
    on_stderr: Callable[[str], None] | None = None,
    abort: threading.Event | None = None,
) -> WorkerRun:
    """Converge ``request`` in a worker run by ``python`` (the repository's venv).

    ``cancel``: stop between root components (SIGUSR1). ``abort``: stop now (SIGTERM, grace,
    SIGKILL to the process group), for a daemon shutting down; the run ends ``cancelled``."""
    started = time.monotonic()
    oom_kills = oom_kill_count()
    try:
        process = subprocess.Popen(
            # -P: the repository (the worker's cwd) is not put on sys.path. batou never has it
            # there either, and a project directory of a flat-layout `-e ./pkg` (pkg/pkg/) at
            # the root would otherwise shadow the editable install as a namespace package.
            [os.fspath(python), "-P", "-m", "components_runtime.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            env={**(os.environ if env is None else env), "DEPLOYD_WORKER_PARENT": str(os.getpid())},
            cwd=request.repository if os.path.isdir(request.repository) else None,
        )
    except OSError as error:
        return WorkerRun(
            outcome="crashed",
            result=None,
            returncode=None,
            signal=None,
            stderr_tail="",
            timed_out_component=None,
            duration=time.monotonic() - started,
            error=ErrorInfo(
                kind="WorkerCrashed",
                message=f"cannot start the worker ({os.fspath(python)}): {error}",
            ),
        )
    assert process.stdin and process.stdout and process.stderr
    stderr = _StderrTail(process.stderr, on_stderr)
    lines: queue.Queue[object] = queue.Queue()
    reader = threading.Thread(target=_read_lines, args=(process.stdout, lines), daemon=True)
    reader.start()
    try:
        process.stdin.write(request.to_json().encode())
        process.stdin.close()
    except BrokenPipeError:
        pass  # the worker died at once; its exit status tells why
    watch = _Watch(process, Clock(limits, started), cancel, on_event, abort)
    watch.follow(lines)
    returncode = process.wait()
    leftovers = end_leftovers(process.pid, limits.grace)
    # Both readers see EOF once the worker's group is gone (after a kill they may not have
    # yet); a process the worker left behind keeps a pipe, and its reader, for at most this.
    until = time.monotonic() + EXIT_WITHOUT_EOF
    for thread in (stderr.thread, reader):
        thread.join(timeout=max(0.0, until - time.monotonic()))
    done = watch.outcome(returncode, stderr.text(), time.monotonic() - started)
    _close_pipes(process, reader, stderr.thread)
    done = dataclasses.replace(done, leftovers=leftovers)
    return _name_the_oom_killer(done, oom_kills)


def _name_the_oom_killer(done: WorkerRun, oom_kills_before: int | None) -> WorkerRun:
    """A SIGKILLed worker while the OOM killer struck in deployd's (and so the worker's) memory
    cgroup: say it for sure instead of hinting (daemon.worker.oom)."""
    if done.outcome != "crashed" or done.signal != signal.SIGKILL or done.error is None:
        return done
    after = oom_kill_count()
    if oom_kills_before is None or after is None or after <= oom_kills_before:
        return done
    error = dataclasses.replace(
        done.error,
        message="the worker was killed by the kernel's OOM killer (signal 9, SIGKILL)",
        hint=(
            "it ran out of memory: a memory limit on deployd's cgroup (systemd's MemoryMax=) "
            "or the host's; `journalctl -k` shows what it held"
        ),
    )
    return dataclasses.replace(done, error=error)


def _close_pipes(
    process: subprocess.Popen[bytes], reader: threading.Thread, stderr: threading.Thread
) -> None:
    """Close the pipes no thread reads any more. A pipe still held open by a process the worker
    left behind stays with its (daemon) reader thread until that process ends."""
    for pipe, thread in ((process.stdout, reader), (process.stderr, stderr)):
        if pipe is not None and not thread.is_alive():
            pipe.close()


class _Watch:
    """Follows one worker's event stream: forwards events, keeps the clocks, kills on overrun."""

    def __init__(
        self,
        process: subprocess.Popen[bytes],
        clock: Clock,
        cancel: threading.Event | None,
        on_event: Callable[[dict[str, Any]], None],
        abort: threading.Event | None = None,
    ):
        self.process = process
        self.abort = abort
        self.aborted = False
        self.clock = clock
        self.cancel = cancel
        self.on_event = on_event
        self.result: WorkerResult | None = None
        self.started = False  # hello seen: SIGUSR1 is handled from here on
        self.cancel_sent = False
        self.timed_out: str | None = None  # which limit: "run", "component" or "debug"
        self.timed_out_component: str | None = None
        self.garbage: list[str] = []  # stdout lines that were not events
        self.progress = WorkerProgress()

    def follow(self, lines: queue.Queue[object]) -> None:
        exited_at: float | None = None
        while True:
            now = time.monotonic()
            wait = max(0.0, min(self.clock.deadline() - now, POLL))
            try:
                item = lines.get(timeout=wait)
            except queue.Empty:
                item = None
            now = time.monotonic()
            if item is _EOF:
                return
            if item is not None:
                self._take(item, now)
            if self.clock.deadline() <= now:
                self._overrun(now)
                return
            if self.abort is not None and self.abort.is_set():
                self.aborted = True
                log.warning("runner: aborting the worker (component %s)", self.clock.component)
                terminate_group(self.process, self.clock.limits.grace)
                return
            self._maybe_cancel()
            if self.process.poll() is not None:
                exited_at = exited_at or now
                if now - exited_at > EXIT_WITHOUT_EOF:
                    return

    def _take(self, item: object, now: float) -> None:
        try:
            event = decode_event(item)  # type: ignore[arg-type]
        except ValueError:
            self.garbage.append(bytes(item).decode(errors="replace")[:500])  # type: ignore[call-overload]
            return
        if event["event"] == "result":
            self.result = WorkerResult.from_event(event)
            return
        if event["event"] == "hello":
            self.started = True
        self.clock.observe(event, now)
        self.progress.observe(event, now)
        try:
            self.on_event(event)
        except Exception:  # a broken consumer must not break the run
            log.exception("runner: event consumer failed on %s", event.get("event"))

    def _maybe_cancel(self) -> None:
        wanted = self.cancel is not None and self.cancel.is_set()
        if wanted and self.started and not self.cancel_sent:
            self.cancel_sent = True
            log.info("runner: asked the worker to stop after the current component")
            _signal(self.process.pid, signal.SIGUSR1, group=False)

    def _overrun(self, now: float) -> None:
        self.timed_out = self.clock.expired(now)
        self.timed_out_component = self.clock.component
        log.warning(
            "runner: %s limit exceeded (component %s): terminating the worker",
            self.timed_out,
            self.timed_out_component,
        )
        terminate_group(self.process, self.clock.limits.grace)

    def outcome(self, returncode: int, stderr_tail: str, duration: float) -> WorkerRun:
        if self.garbage:
            stderr_tail = (stderr_tail + "\n[stdout] " + "\n[stdout] ".join(self.garbage))[
                -STDERR_TAIL_BYTES:
            ]
        sig = -returncode if returncode < 0 else None
        outcome: WorkerOutcome
        error: ErrorInfo | None = None
        if self.timed_out:
            outcome = "timeout"
            error = self.clock.timeout_error(self.timed_out, self.timed_out_component)
        elif self.aborted:
            outcome = "cancelled"
            error = ErrorInfo(
                kind="Aborted",
                component=self.clock.component,
                message="the run was aborted before it finished",
            )
        elif self.result is None:
            outcome = "crashed"
            error = crash_error(returncode, stderr_tail)
        else:
            outcome = self.result.outcome
        return WorkerRun(
            outcome=outcome,
            result=self.result,
            returncode=returncode,
            signal=sig,
            stderr_tail=stderr_tail,
            timed_out_component=self.timed_out_component,
            duration=duration,
            error=error,
            finished=self.progress.components(time.monotonic()) if self.result is None else (),
        )


def terminate_group(process: subprocess.Popen[bytes], grace: float) -> None:
    """SIGTERM to the worker's process group, SIGKILL after ``grace`` seconds (and always once
    the worker is gone, for children that ignored SIGTERM)."""
    _signal(process.pid, signal.SIGTERM, group=True)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        pass
    _signal(process.pid, signal.SIGKILL, group=True)


def crash_error(returncode: int, stderr_tail: str) -> ErrorInfo:
    if returncode < 0:
        name = signal.Signals(-returncode).name if -returncode in signal.valid_signals() else "?"
        message = f"the worker was killed by signal {-returncode} ({name})"
        hint = (
            "SIGKILL usually means the kernel's OOM killer: check `journalctl -k` for "
            "'Out of memory'"
            if -returncode == signal.SIGKILL
            else "a crash in native code (an extension module); see the stderr tail"
        )
    else:
        message = f"the worker exited with status {returncode} without a result"
        hint = "see the stderr tail; a component may call os._exit() or sys.exit()"
    lines = tuple(line for line in stderr_tail.splitlines() if line.strip())[-20:]
    return ErrorInfo(kind="WorkerCrashed", message=message, hint=hint, details=lines)


def _signal(pid: int, sig: signal.Signals, *, group: bool) -> None:
    try:
        os.killpg(pid, sig) if group else os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _read_lines(stream: IO[bytes], lines: queue.Queue[object]) -> None:
    try:
        for line in stream:
            lines.put(line)
    finally:
        lines.put(_EOF)


class _StderrTail:
    """Drains the worker's stderr in a thread, keeping the last ``STDERR_TAIL_BYTES``."""

    def __init__(self, stream: IO[bytes], on_stderr: Callable[[str], None] | None) -> None:
        self.chunks: collections.deque[bytes] = collections.deque()
        self.size = 0
        self.stream = stream
        self.on_stderr = on_stderr
        self.thread = threading.Thread(target=self._drain, daemon=True)
        self.thread.start()

    def _drain(self) -> None:
        for line in self.stream:
            self.chunks.append(line)
            self.size += len(line)
            while self.size > STDERR_TAIL_BYTES and len(self.chunks) > 1:
                self.size -= len(self.chunks.popleft())
            if self.on_stderr is not None:
                try:
                    self.on_stderr(line.decode(errors="replace"))
                except Exception:  # a broken consumer must not stop the draining (the worker
                    log.exception("runner: stderr consumer failed")  # would block on a full pipe)
                    self.on_stderr = None

    def text(self) -> str:
        return b"".join(list(self.chunks)).decode(errors="replace")[-STDERR_TAIL_BYTES:]


__all__ = ["WorkerRun", "crash_error", "run_worker", "terminate_group"]
