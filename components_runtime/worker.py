"""The worker process: ``python -m components_runtime.worker``.

Reads one :class:`~components_runtime.protocol.WorkerRequest` from stdin, converges, and writes
JSON-line events and one result to stdout (see ``protocol``). The real stdout is kept for the
event stream and file descriptor 1 is pointed at stderr, so a ``print()`` in user code cannot
corrupt the protocol.
"""

from __future__ import annotations

import os
import sys
from typing import Any, BinaryIO

from components_runtime.protocol import (
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


def main() -> int:
    events = _take_event_stream()

    def emit(event: dict[str, Any]) -> None:
        events.write(encode_event(event))

    emit(make_event("hello", protocol=1, pid=os.getpid(), python=sys.version.split()[0]))
    try:
        request = WorkerRequest.from_json(sys.stdin.read())
    except (ValueError, TypeError) as error:
        result = WorkerResult(
            outcome="failed", errors=(ErrorInfo(kind="ProtocolError", message=str(error)),)
        )
        emit(result.to_event())
        return 2
    from components_runtime.session import run_request

    result = run_request(request, emit)
    emit(result.to_event())
    return 0 if result.outcome == "succeeded" else 1


if __name__ == "__main__":
    sys.exit(main())
