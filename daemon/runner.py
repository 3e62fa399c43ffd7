"""Run one converge in a worker subprocess and collect its events (minimal first version)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from components_runtime.protocol import (
    ErrorInfo,
    WorkerRequest,
    WorkerResult,
    decode_event,
)


@dataclass(frozen=True)
class WorkerRun:
    result: WorkerResult
    returncode: int
    stderr_tail: str


def run_worker(
    request: WorkerRequest,
    on_event: Callable[[dict[str, Any]], None] = lambda event: None,
    python: str = sys.executable,
) -> WorkerRun:
    process = subprocess.Popen(
        [python, "-m", "components_runtime.worker"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    assert process.stdin and process.stdout and process.stderr
    process.stdin.write(request.to_json().encode())
    process.stdin.close()
    result: WorkerResult | None = None
    for line in process.stdout:
        event = decode_event(line)
        if event["event"] == "result":
            result = WorkerResult.from_event(event)
        else:
            on_event(event)
    stderr = process.stderr.read().decode(errors="replace")
    returncode = process.wait()
    tail = stderr[-4000:]
    if result is None:
        result = WorkerResult(
            outcome="failed",
            errors=(
                ErrorInfo(
                    kind="WorkerCrashed",
                    message=f"the worker ended without a result (exit status {returncode})",
                    details=tuple(tail.splitlines()[-20:]),
                ),
            ),
        )
    return WorkerRun(result=result, returncode=returncode, stderr_tail=tail)
