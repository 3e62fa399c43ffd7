"""Signals to a worker from outside its run: stop after this component; kill an orphan."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any


def stop_between_components(cancel: Any, worker_pid: int | None) -> None:
    """Ask the run to stop after its current component: set the runner's cancel flag, and
    signal the worker at once ourselves (the runner only looks at its flag every 0.1 s, and a
    component ending in that window would let the next one start)."""
    cancel.set()
    if worker_pid:
        try:
            os.kill(worker_pid, signal.SIGUSR1)
        except ProcessLookupError:
            pass


def kill_worker(pid: Any) -> None:
    """Kill an orphaned worker's process group, but only if the pid is still our worker."""
    if not pid:
        return
    try:
        cmdline = Path(f"/proc/{int(pid)}/cmdline").read_bytes()
    except (OSError, ValueError):
        return
    if b"components_runtime.worker" not in cmdline:
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(int(pid), sig)
        except ProcessLookupError:
            return
        for _ in range(50):
            if not Path(f"/proc/{int(pid)}").exists() or _is_zombie(int(pid)):
                return
            time.sleep(0.1)


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z")
    except (OSError, IndexError):
        return True
