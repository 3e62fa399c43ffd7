"""Things a test run makes once and shares: across test runs on this machine (a cache
directory) and across the processes of one run (pytest-xdist's workers).

Both are guarded the same way: a file lock keeps two makers apart, and a marker written last
tells a finished directory from a half-made one (a run killed while making it), which is
emptied and made again.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest


def filled_once(directory: Path, fill: Callable[[Path], None]) -> Path:
    """``directory``, made by ``fill(directory)`` on first use and then reused. A lock keeps
    parallel test runs from filling it twice, and a marker written last means a half-filled
    directory (a run killed while filling) is emptied and filled again. The marker and the
    lock lie beside the directory, so what it holds is only what ``fill`` put there (a Debian
    root stays a clean file system)."""
    marker = directory.with_name(f"{directory.name}.complete")
    if marker.exists():
        return directory
    directory.parent.mkdir(parents=True, exist_ok=True)
    with open(directory.with_name(f"{directory.name}.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if marker.exists():
            return directory
        shutil.rmtree(directory, ignore_errors=True)
        fill(directory)
        marker.touch()
    return directory


def shared_by_this_run(tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    """A directory for ``name`` that every process of this test run sees: under pytest-xdist
    each worker has a base temp of its own, and their parent is the run's."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent
    return base / name
