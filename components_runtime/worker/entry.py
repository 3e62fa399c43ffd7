"""The worker process: ``python -m components_runtime.worker``, run in the repository's venv.

Reads one :class:`~components_runtime.protocol.WorkerRequest` from stdin, converges through
``worker.session.run_request``, and writes JSON-line events and one result to stdout
(see ``protocol``). The real stdout is kept for the event stream and file descriptor 1 is pointed
at stderr, so a ``print()`` in user code or a command's output cannot corrupt the protocol.

Before user code runs, the worker

* turns ``SIGUSR1`` into a flag the session polls between root components (``should_stop``);
* installs the breakpoint hook (``components_runtime.worker.debugging``);
* makes ``batou`` and ``batou.*`` resolve to the runtime's alias layer
  (``components_runtime.worker.aliases``) even if the venv holds a real ``batou`` distribution
  (pulled in by e.g. ``batou_ext``).

A worker that cannot produce a result (an exception escaping here, a segfault, ``os._exit``,
the OOM killer) ends without a ``result`` line; the parent records that as ``crashed``.
"""

from __future__ import annotations

import faulthandler
import os
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import replace
from typing import Any, BinaryIO

from components_runtime.protocol import (
    PROTOCOL_VERSION,
    ErrorInfo,
    WorkerRequest,
    WorkerResult,
    encode_event,
    make_event,
)


def _take_event_stream() -> BinaryIO:
    events = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return events


def _stop_flag() -> threading.Event:
    """SIGUSR1 from the parent: stop between root components (a newer commit arrived)."""
    stop = threading.Event()
    signal.signal(signal.SIGUSR1, lambda signum, frame: stop.set())
    return stop


PARENT_ENV = "DEPLOYD_WORKER_PARENT"  # the runner's pid, set by daemon.worker.spawn


def _die_with_parent() -> None:
    """If the runner dies (``kill -9`` of the daemon), take this worker's process group down
    instead of converging on unsupervised, next to the runner's successor. Linux: the kernel
    sends SIGHUP when the parent goes (``PR_SET_PDEATHSIG``)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(1, int(signal.SIGHUP), 0, 0, 0) != 0:  # 1 = PR_SET_PDEATHSIG
            return
    except (OSError, AttributeError):
        return
    signal.signal(signal.SIGHUP, lambda signum, frame: os.killpg(os.getpgrp(), signal.SIGTERM))
    expected = os.environ.get(PARENT_ENV)
    if expected and expected.isdigit() and os.getppid() != int(expected):
        os.killpg(os.getpgrp(), signal.SIGTERM)  # the parent went before prctl took effect


def _redacting(emit: Callable[[dict[str, Any]], None], texts: dict[str, str]) -> Any:
    """``emit`` with every secret value cut out of every event (log lines, error messages,
    the result): whatever component code prints or raises, its events never carry one."""
    from components_runtime.secrets import guard_for_texts

    guard = guard_for_texts(texts)

    def redacted(event: dict[str, Any]) -> None:
        emit(guard.redact_data(event))

    return redacted


def main() -> int:
    _die_with_parent()
    stop = _stop_flag()
    events = _take_event_stream()
    faulthandler.enable()  # a segfault in an extension module leaves a traceback on stderr
    lock = threading.Lock()

    def emit(event: dict[str, Any]) -> None:
        with lock:
            events.write(encode_event(event))

    emit(
        make_event(
            "hello",
            protocol=PROTOCOL_VERSION,
            pid=os.getpid(),
            python=sys.version.split()[0],
            prefix=sys.prefix,
        )
    )
    try:
        request = WorkerRequest.from_json(sys.stdin.read())
    except (ValueError, TypeError) as error:
        result = WorkerResult(
            outcome="failed", errors=(ErrorInfo(kind="ProtocolError", message=str(error)),)
        )
        emit(result.to_event())
        return 2
    from components_runtime.worker import aliases
    from components_runtime.worker.debugging import install_breakpoint_hook
    from components_runtime.worker.session import run_request

    if request.secrets is not None and request.secrets.texts:
        emit = _redacting(emit, request.secrets.as_dict())

    hook = install_breakpoint_hook(request, emit)
    aliases.install()
    result = run_request(request, emit, lambda: stop.is_set() or hook.quit)
    if hook.skipped:  # in the result too: the run record keeps what the log said
        result = replace(result, warnings=(*result.warnings, *hook.skipped))
    emit(result.to_event())
    return 0 if result.outcome == "succeeded" else 1


if __name__ == "__main__":
    sys.exit(main())
