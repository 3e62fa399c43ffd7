"""One run at a time per host: an advisory ``flock`` on ``STATE/lock``.

The daemon takes the lock for each run; a manual ``deployd apply`` takes the same lock, so the
two never converge at once. The holder writes who it is into the file (pid, command, since),
so the one who waits gets a clear message. The kernel drops the lock when the holder dies, even
after ``kill -9``: a stale lock cannot exist.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from daemon.state.store import StateError

log = logging.getLogger(__name__)


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
    fd = _open_lock_file(path)
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


def _open_lock_file(path: Path) -> int:
    """The lock file, opened. Something else at its path (a directory made by hand or by a
    broken tool) is moved aside with a warning, so runs do not fail forever over a file that
    holds nothing of value; anything else that keeps it from opening is a :class:`StateError`
    naming the file."""
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o640)
    except IsADirectoryError:
        aside = path.with_name(f"{path.name}.damaged-{time.strftime('%Y%m%dT%H%M%S')}")
        try:
            os.replace(path, aside)
        except OSError as error:
            raise StateError(f"{path} is a directory and cannot be moved aside: {error}") from None
        log.warning("state: %s was a directory: moved aside to %s", path, aside.name)
        return _open_lock_file(path)
    except OSError as error:
        raise StateError(f"cannot open the lock file {path}: {error.strerror}") from None
