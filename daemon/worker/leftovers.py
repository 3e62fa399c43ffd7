"""Processes a worker left behind in its process group, ended when the worker has exited.

A component may start a process and forget it (a shell's ``cmd &``, a daemon that does not
detach). Under systemd the unit's cgroup would keep it alive until the daemon stops; we end it
with the run instead (SIGTERM to the worker's group, SIGKILL after the grace time), so every
run starts from the same state, and the run's record says what was ended. A process that left
the group on purpose (``setsid``) is not ours to end.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path


def group_members(group: int) -> list[tuple[int, str]]:
    """(pid, command line) of the live processes in process group ``group``."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            _, _, rest = Path(f"/proc/{entry}/stat").read_text().rpartition(") ")
            fields = rest.split()
            if fields[0] == "Z" or int(fields[2]) != group:
                continue
            command = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ")
        except (OSError, IndexError, ValueError):
            continue
        members.append((int(entry), command.decode(errors="replace").strip()[:200]))
    return members


def end_leftovers(group: int, grace: float) -> tuple[str, ...]:
    """End what is left in the worker's process group; one warning per process ended."""
    left = group_members(group)
    if not left:
        return ()
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(group, sig)
        except (ProcessLookupError, PermissionError):
            break
        deadline = time.monotonic() + grace
        while group_members(group) and time.monotonic() < deadline:
            time.sleep(0.05)
        if not group_members(group):
            break
    return tuple(
        f"a process the run left behind was ended (pid {pid}: {command or '?'})"
        for pid, command in left
    )
