"""One run at a time per host: an advisory ``flock`` on ``STATE/lock``.

The daemon takes the lock for each run; a manual ``deployd apply`` takes the same lock, so the
two never converge at once. The holder writes who it is into the file (pid, command, since),
so the one who waits gets a clear message. The kernel drops the lock when the holder dies, even
after ``kill -9``: a stale lock cannot exist.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class LockBusy(Exception):
    """Another process holds the run lock; ``str()`` names it."""


def describe_holder(path: Path) -> str:
    try:
        info = json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        return "another process"
    since = time.strftime("%H:%M:%S", time.localtime(info.get("since", 0)))
    return f"{info.get('who', 'a process')} (pid {info.get('pid', '?')}, since {since})"


@contextmanager
def host_lock(state_dir: Path | str, who: str, name: str = "lock") -> Iterator[None]:
    """Hold the run lock for the ``with`` block, or raise :class:`LockBusy` at once.
    ``name="daemon.lock"`` is the daemon's own lock, held while it runs: one daemon per
    state dir."""
    path = Path(state_dir) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o640)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            what = "daemon uses this state dir" if name != "lock" else "run holds the lock"
            raise LockBusy(
                f"another {what} ({path}): {describe_holder(path)}; "
                "wait for it to finish (`deployd status` shows the daemon's run)"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"who": who, "pid": os.getpid(), "since": time.time()}).encode())
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
    finally:
        os.close(fd)
