"""A real kernel OOM kill of the worker, inside a memory cgroup made for the test.

deployd (``apply``, then the daemon) starts inside a fresh memory cgroup with a small limit; one
component allocates far beyond it, so the kernel's OOM killer (not a test's SIGKILL) ends the
worker. cgroup v2 or v1, whichever this machine lets us write; skipped, with the reason, where
none is usable. The group is removed afterwards, also when a test fails.
"""

from __future__ import annotations

import configparser
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from daemon.worker.oom import oom_kill_count
from tests.support import daemon_helpers
from tests.support.daemon_helpers import HOST, run_daemon
from tests.support.helpers import commit, make_repo, wait_for, write_tree
from tests.support.paths import REPO_ROOT

REPO_ROOT = REPO_ROOT
CGROUP_ROOT = Path("/sys/fs/cgroup")
LIMIT = 200 * 2**20  # deployd and its worker need well under 100 MB of it

FIRST = """\
from batou.component import Component
from batou.lib.file import File


class First(Component):
    def configure(self):
        self += File("first.txt", content="converged before the hog\\n")
"""

HOG = """\
from batou.component import Component


class Hog(Component):
    def verify(self):
        hoard = []
        for _ in range(100):  # 20 MB at a time, up to 2 GB, every page written
            hoard.append(b"\\x01" * (20 * 2**20))
"""


@dataclass(frozen=True)
class MemoryCgroup:
    path: Path
    version: int

    def wrap(self, command: list[str]) -> list[str]:
        """``command`` run inside this group (its children stay in it)."""
        procs = self.path / "cgroup.procs"
        return ["sh", "-c", f'echo $$ > {procs} && exec "$@"', "sh", *command]

    def oom_kills(self) -> int | None:
        name = "memory.events" if self.version == 2 else "memory.oom_control"
        try:
            text = (self.path / name).read_text()
        except OSError:
            return None
        counters = dict(line.split() for line in text.splitlines() if len(line.split()) == 2)
        return int(counters["oom_kill"]) if "oom_kill" in counters else None

    def pids(self) -> list[int]:
        try:
            return [int(pid) for pid in (self.path / "cgroup.procs").read_text().split()]
        except OSError:
            return []


def _own_cgroup(controller: str) -> str:
    """This process's path in the hierarchy of ``controller`` ("" for the v2 line)."""
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if controllers.split(",") == [controller] or (controller == "" and controllers == ""):
            return path.lstrip("/")
    return ""


def _make_group(
    parent: Path, name: str, limit: tuple[str, str], no_swap: tuple[str, str], enable: bool
) -> Path | str:
    """``parent/name`` limited by the ``limit`` file (and ``no_swap`` where the kernel has it),
    or why that failed (nothing is left behind)."""
    group = parent / name
    try:
        subtree = parent / "cgroup.subtree_control"
        if enable and "memory" not in subtree.read_text().split():
            subtree.write_text("+memory")
        group.mkdir()
    except OSError as error:
        return f"{parent}: {error}"
    try:
        (group / limit[0]).write_text(limit[1])
        if (group / no_swap[0]).exists():
            (group / no_swap[0]).write_text(no_swap[1])
    except OSError as error:
        group.rmdir()
        return f"{group}: {error}"
    return group


def _create(name: str) -> MemoryCgroup | str:
    """A new memory cgroup limited to ``LIMIT`` without swap, nested under our own group where
    possible (so any limit of the machine's still applies), or why there is none."""
    if os.geteuid() != 0:
        return "not root: cannot create a memory cgroup"
    controllers = CGROUP_ROOT / "cgroup.controllers"
    v2 = controllers.exists() and "memory" in controllers.read_text().split()
    v1 = CGROUP_ROOT / "memory"
    if v2:
        parents = (CGROUP_ROOT / _own_cgroup(""), CGROUP_ROOT)
        limit, no_swap = ("memory.max", str(LIMIT)), ("memory.swap.max", "0")
    elif (v1 / "memory.limit_in_bytes").exists():
        parents = (v1 / _own_cgroup("memory"), v1)
        limit, no_swap = (
            ("memory.limit_in_bytes", str(LIMIT)),
            ("memory.memsw.limit_in_bytes", str(LIMIT)),
        )
    else:
        return f"no memory cgroup: {controllers} does not list memory and {v1} does not exist"
    failures = []
    for parent in dict.fromkeys(parents):
        made = _make_group(parent, name, limit, no_swap, enable=v2)
        if isinstance(made, Path):
            return MemoryCgroup(made, 2 if v2 else 1)
        failures.append(made)
    return f"cgroup v{2 if v2 else 1}: cannot create a limited memory cgroup: " + "; ".join(
        failures
    )


@contextmanager
def memory_cgroup() -> Iterator[MemoryCgroup]:
    group = _create(f"deployd-oom-test-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    if isinstance(group, str):
        pytest.skip(group)
    try:
        yield group
    finally:
        _remove(group)


def _remove(group: MemoryCgroup) -> None:
    """Remove the group; whatever the test left running in it (only our processes) is killed."""

    def removed() -> bool:
        for pid in group.pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            group.path.rmdir()
        except FileNotFoundError:
            return True
        except OSError:  # EBUSY until the killed processes are gone
            return False
        return True

    wait_for(removed, timeout=30)


def deploy_repo(path: Path, components: tuple[str, ...]) -> Path:
    listed = "".join(f"    {name}\n" for name in components)
    return make_repo(
        path,
        {
            "components/first/component.py": FIRST,
            "components/hog/component.py": HOG,
            "environments/test/environment.cfg": f"[host:{HOST}]\ncomponents =\n{listed}",
        },
    )


def assert_names_the_oom_killer(text: str, before: int | None, after: int | None) -> None:
    """The kernel's own counter proves it was the OOM killer; deployd, in the same group, says
    so. Without the counter (an old kernel) deployd can only hint at it."""
    if before is None or after is None:
        assert "SIGKILL usually means the kernel's OOM killer" in text, text
    else:
        assert after > before
        assert "killed by the kernel's OOM killer" in text and "MemoryMax=" in text, text


def test_apply_reports_the_oom_killed_worker_and_keeps_what_converged(tmp_path: Path) -> None:
    repo = deploy_repo(tmp_path / "repo", ("first", "hog"))
    root = tmp_path / "root"
    state = tmp_path / "state"
    command = [sys.executable, "-m", "daemon.cli", "apply", str(repo), "-e", "test",
               "--host", HOST, "--root", str(root), "--state-dir", str(state)]  # fmt: skip
    with memory_cgroup() as group:
        before = group.oom_kills()
        done = subprocess.run(
            group.wrap(command), capture_output=True, text=True, timeout=60, cwd=REPO_ROOT
        )
        after = group.oom_kills()
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "Traceback" not in output
    assert "Error: WorkerCrashed:" in output and "SIGKILL" in output, output
    assert_names_the_oom_killer(output, before, after)
    assert (root / "work/first/first.txt").read_text() == "converged before the hog\n"
    assert "apply: 1 changed, 0 unchanged, 1 failed" in output, output  # first, then hog


def test_the_daemon_records_a_crash_and_converges_once_the_hog_is_gone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = deploy_repo(tmp_path / "repo", ("first", "hog"))
    plain = daemon_helpers.deployd_command
    with memory_cgroup() as group:
        before = group.oom_kills()
        monkeypatch.setattr(daemon_helpers, "deployd_command", lambda: group.wrap(plain()))
        with run_daemon(tmp_path, repo) as daemon:
            monkeypatch.undo()  # only the daemon runs in the group, not the CLI calls below
            crashed = daemon.wait_run(trigger="startup")
            assert crashed["outcome"] == "crashed", crashed
            (error,) = crashed["errors"]
            assert error["kind"] == "WorkerCrashed", error
            assert_names_the_oom_killer(
                f"{error['message']} {error['hint']}", before, group.oom_kills()
            )
            assert daemon.alive()
            outcomes = [(c["component"], c["outcome"]) for c in crashed["components"]]
            assert outcomes == [("first", "changed"), ("hog", "failed")], crashed
            first = daemon.root / "work/first/first.txt"
            assert first.read_text() == "converged before the hog\n"

            config = f"[host:{HOST}]\ncomponents = first\n"
            sha = commit(repo, {"environments/test/environment.cfg": config}, "drop the hog")
            daemon.wait_run(trigger="push", outcome="succeeded", commit__sha=sha)
            assert first.read_text() == "converged before the hog\n"


def test_the_systemd_drop_in_of_the_docs_caps_memory_and_keeps_the_daemon_running() -> None:
    page = (REPO_ROOT / "docs/debugging.md").read_text()
    (block,) = [b for b in page.split("```ini\n")[1:] if b.startswith("[Service]")]
    drop_in = configparser.RawConfigParser(strict=True)
    drop_in.optionxform = str  # type: ignore[assignment,method-assign]
    drop_in.read_string(block.split("```")[0])
    service = dict(drop_in["Service"])
    assert service["MemoryMax"].endswith(("K", "M", "G"))
    assert (service["MemorySwapMax"], service["OOMPolicy"]) == ("0", "continue")


V2_EVENTS = "low 0\nhigh 0\nmax 7\noom 2\noom_kill 2\noom_group_kill 0\n"


@pytest.mark.parametrize(
    ("proc_cgroup", "files", "expected"),
    [
        (
            "0::/system.slice/deployd.service\n",
            {"system.slice/deployd.service/memory.events": V2_EVENTS},
            2,
        ),
        (
            "4:memory:/deployd\n0::/\n",
            {"memory/deployd/memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 5\n"},
            5,
        ),
        ("1:name=systemd:/x\n0::/x\n", {}, None),  # hybrid host without a memory controller
        ("0::/x\n", {"x/memory.events": "oom 1\n"}, None),  # a kernel before 4.13
    ],
    ids=["v2", "v1", "no-memory-controller", "no-counter"],
)
def test_the_counter_is_read_from_deployds_own_cgroup(
    tmp_path: Path, proc_cgroup: str, files: dict[str, str], expected: int | None
) -> None:
    """The cgroup layouts other hosts have (this one's is exercised for real above)."""
    (tmp_path / "proc-self-cgroup").write_text(proc_cgroup)
    write_tree(tmp_path / "fs", files)
    assert oom_kill_count(tmp_path / "proc-self-cgroup", root=tmp_path / "fs") == expected
