"""Which venvs a run is using: a ``flock`` on ``VENV/.in-use``.

A run (``deployd apply`` / ``check``, via ``daemon.runs.one_shot``) holds the file with a shared
lock for as long as its worker runs; ``daemon.venvs.cache.collect_garbage`` takes it exclusively
without waiting before it renames a venv away, and skips the venv when that fails. The lock
lives in the kernel: a run that dies, however it dies, releases it. The file is empty and is
read by nobody, so it changes neither a venv's key nor its ready check.
"""

from __future__ import annotations

import fcntl
import logging
import os
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

IN_USE = ".in-use"


@dataclass(frozen=True)
class InUse:
    """A shared lock on a venv's in-use file; :meth:`release` (or process exit) drops it.
    ``fd`` is None when the file could not be made (a read-only venv of an older deployd):
    the run then goes on unprotected, as it did before this lock existed."""

    fd: int | None

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)


def hold_shared(venv: Path) -> InUse | None:
    """A shared lock on ``venv``'s in-use file; None when the venv is gone.

    Blocks only while a collector holds the lock (for one rename). After locking, the file
    held must still be the one at ``venv``'s path: a venv collected (or collected and rebuilt
    under the same key) between the caller's look and this lock is caught here.
    """
    path = venv / IN_USE
    try:
        fd = _open(path)
    except FileNotFoundError:
        return None  # the directory itself is gone
    except PermissionError as error:
        log.warning("venv: cannot lock %s, using it unprotected: %s", venv.name, error)
        return InUse(None)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        held, current = os.fstat(fd), os.stat(path)
        if (held.st_dev, held.st_ino) == (current.st_dev, current.st_ino):
            return InUse(fd)
    except OSError:  # renamed away meanwhile
        pass
    os.close(fd)
    return None


def claim_exclusive(venv: Path) -> int | None:
    """An exclusive lock on ``venv``'s in-use file (the caller closes the fd), or None when a
    run holds it, or the file cannot be made: then the venv is kept rather than removed
    unguarded."""
    try:
        fd = os.open(venv / IN_USE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as error:
        log.warning("venv: cannot lock %s, kept: %s", venv.name, error)
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:  # BlockingIOError: a run holds it
        os.close(fd)
        log.debug("venv: %s is in use, kept", venv.name)
        return None
    return fd


def _open(path: Path) -> int:
    try:
        return os.open(path, os.O_RDONLY | os.O_CLOEXEC)  # a read-only fd can hold a flock
    except FileNotFoundError:
        return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)


__all__ = ["IN_USE", "InUse", "claim_exclusive", "hold_shared"]
