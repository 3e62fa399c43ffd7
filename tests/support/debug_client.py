"""A worker run paused at a breakpoint, and a plain-socket pdb client to talk to it."""

from __future__ import annotations

import queue
import socket
import threading
from pathlib import Path
from typing import Any

from daemon.config.limits import Limits
from daemon.worker.spawn import WorkerRun, run_worker
from tests.support.worker_repos import component, request

BREAKS = component(
    "Paused",
    (
        "    def verify(self):\n"
        "        secret = 6 * 7\n"
        "        breakpoint()\n"
        "        self.after = secret\n"
    ),
)


def read_until(connection: socket.socket, marker: bytes) -> bytes:
    data = b""
    while not data.endswith(marker):
        chunk = connection.recv(4096)
        if not chunk:
            raise AssertionError(f"connection closed before {marker!r}; got {data!r}")
        data += chunk
    return data


def start_run(
    checkout: Path, tmp_path: Path, limits: Limits, **kw: Any
) -> tuple[threading.Thread, queue.Queue[dict[str, Any]], list[WorkerRun]]:
    events: queue.Queue[dict[str, Any]] = queue.Queue()
    done: list[WorkerRun] = []
    thread = threading.Thread(
        target=lambda: done.append(
            run_worker(request(checkout, tmp_path, **kw), events.put, limits=limits)
        )
    )
    thread.start()
    return thread, events, done


def next_event(events: queue.Queue[dict[str, Any]], kind: str) -> dict[str, Any]:
    while True:
        event = events.get(timeout=30)
        if event["event"] == kind:
            return event
