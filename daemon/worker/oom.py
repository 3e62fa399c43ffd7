"""How many processes the kernel's OOM killer has killed in deployd's own memory cgroup.

The worker runs in deployd's cgroup (nothing moves it), so when a worker dies of SIGKILL and
this counter rose during its run, the kernel's OOM killer killed it: a memory limit on the
service (systemd's ``MemoryMax=``) or the whole host ran out of memory. The runner then says so
instead of only hinting at it (docs/debugging.md#capping-a-runs-memory).

cgroup v2: ``oom_kill`` in ``memory.events`` of the group named by the ``0::`` line of
``/proc/self/cgroup``. cgroup v1: ``oom_kill`` in ``memory.oom_control`` of the group named by
the ``memory`` line. ``None`` when neither can be read (no memory controller, an older kernel,
a cgroup file system mounted elsewhere): the runner keeps its hint then.
"""

from __future__ import annotations

from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")


def oom_kill_count(
    proc_cgroup: Path = Path("/proc/self/cgroup"), root: Path = CGROUP_ROOT
) -> int | None:
    """The ``oom_kill`` counter of this process's memory cgroup, or ``None``."""
    try:
        lines = proc_cgroup.read_text().splitlines()
    except OSError:
        return None
    for counters in _counter_files(lines, root):
        count = _read_oom_kill(counters)
        if count is not None:
            return count
    return None


def _counter_files(lines: list[str], root: Path) -> list[Path]:
    """Candidate counter files, v1's memory controller first (on a hybrid host the v2 tree
    has no memory controller)."""
    v1: list[Path] = []
    v2: list[Path] = []
    for line in lines:
        controllers, _, path = line.partition(":")[2].partition(":")
        relative = path.lstrip("/")
        if "memory" in controllers.split(","):
            v1.append(root / controllers / relative / "memory.oom_control")
        elif line.startswith("0::"):
            v2.append(root / relative / "memory.events")
    return v1 + v2


def _read_oom_kill(path: Path) -> int | None:
    try:
        text = path.read_text()
    except OSError:
        return None
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        if key == "oom_kill" and value.strip().isdigit():
            return int(value)
    return None


__all__ = ["oom_kill_count"]
