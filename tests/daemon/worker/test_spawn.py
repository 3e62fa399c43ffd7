"""The worker subprocess under real failure: crashes, signals, time limits, cancellation."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from daemon.config.limits import Limits
from daemon.worker.clock import Clock
from daemon.worker.spawn import WorkerRun, run_worker
from tests.support.helpers import wait_for, write_tree
from tests.support.worker_repos import component, repo, request

QUICK = Limits(grace=1.0)


def run(checkout: Path, tmp_path: Path, limits: Limits = QUICK, **kw: Any) -> WorkerRun:
    return run_with_events(checkout, tmp_path, limits, **kw)[0]


def run_with_events(
    checkout: Path, tmp_path: Path, limits: Limits = QUICK, **kw: Any
) -> tuple[WorkerRun, list[dict[str, Any]]]:
    events: list[dict[str, Any]] = []
    return run_worker(request(checkout, tmp_path), events.append, limits=limits, **kw), events


def test_a_run_reports_events_and_its_result(tmp_path: Path) -> None:
    checkout = repo(
        tmp_path / "repo",
        {
            "first": component("First", "    def verify(self):\n        pass\n"),
        },
    )
    done, events = run_with_events(checkout, tmp_path)
    assert (done.outcome, done.returncode, done.signal, done.error) == ("succeeded", 0, None, None)
    kinds = [e["event"] for e in events]
    assert kinds[0] == "hello"
    assert "component-started" in kinds and "component-finished" in kinds
    assert done.result and [c.component for c in done.result.components] == ["first"]


def test_exception_at_worker_import_is_a_crash_with_the_stderr_tail(tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    write_tree(broken, {"components_runtime/__init__.py": "raise RuntimeError('runtime broken')\n"})
    checkout = repo(tmp_path / "repo", {"first": component("First", "    pass\n")})
    env = {**os.environ, "PYTHONPATH": str(broken)}
    done = run(checkout, tmp_path, env=env)
    assert (done.outcome, done.returncode, done.result) == ("crashed", 1, None)
    assert "RuntimeError: runtime broken" in done.stderr_tail
    assert done.error and done.error.kind == "WorkerCrashed"
    assert "exited with status 1 without a result" in done.error.message


def test_segfault_is_a_crash_naming_the_signal_and_the_users_line(tmp_path: Path) -> None:
    checkout = repo(
        tmp_path / "repo",
        {
            "first": component(
                "First", ("    def verify(self):\n        os.kill(os.getpid(), signal.SIGSEGV)\n")
            )
        },
    )
    done = run(checkout, tmp_path)
    assert (done.outcome, done.signal) == ("crashed", 11)
    assert done.error and "signal 11 (SIGSEGV)" in done.error.message
    assert "Segmentation fault" in done.stderr_tail  # faulthandler's traceback...
    assert "components/first/component.py" in done.stderr_tail  # ...names the user's file


def test_a_crash_keeps_what_the_worker_got_done_before_it(tmp_path: Path) -> None:
    """The worker never sends its result when it dies; the components it reported finished
    are still the run's, and the one it died in is failed (a run record must not say
    "nothing converged" about files that were written)."""
    write_file = (
        "    def configure(self):\n"
        "        from batou.lib.file import File\n"
        "        self += File('first.txt', content='written before the crash')\n"
    )
    checkout = repo(
        tmp_path / "repo",
        {
            "first": component("First", write_file),
            "second": component(
                "Second", "    def verify(self):\n        os.kill(os.getpid(), signal.SIGSEGV)\n"
            ),
        },
    )
    done = run(checkout, tmp_path)
    assert (done.outcome, done.result) == ("crashed", None)
    assert [(c.component, c.outcome) for c in done.components] == [
        ("first", "changed"),
        ("second", "failed"),
    ]
    assert done.components[0].changed_paths, "the changed sub-components are kept too"
    assert (tmp_path / "root" / "work" / "first" / "first.txt").read_text() == (
        "written before the crash"
    )


def test_os_exit_is_a_crash_with_its_exit_status(tmp_path: Path) -> None:
    checkout = repo(
        tmp_path / "repo",
        {
            "first": component(
                "First",
                (
                    "    def verify(self):\n"
                    "        print('going away', flush=True)\n"
                    "        os._exit(3)\n"
                ),
            )
        },
    )
    done = run(checkout, tmp_path)
    assert (done.outcome, done.returncode, done.signal) == ("crashed", 3, None)
    assert "going away" in done.stderr_tail  # print() went to stderr, not the event stream


def test_sigkill_as_from_the_oom_killer_is_a_crash_with_a_hint(tmp_path: Path) -> None:
    checkout = repo(
        tmp_path / "repo",
        {
            "first": component(
                "First", ("    def verify(self):\n        os.kill(os.getpid(), signal.SIGKILL)\n")
            )
        },
    )
    done = run(checkout, tmp_path)
    assert (done.outcome, done.signal) == ("crashed", 9)
    assert done.error and done.error.hint and "OOM" in done.error.hint


def test_memory_limit_fails_the_component_not_the_worker(tmp_path: Path) -> None:
    body = (
        "    def verify(self):\n"
        "        import resource\n"
        "        resource.setrlimit(resource.RLIMIT_AS, (2 * 1024 ** 3, 2 * 1024 ** 3))\n"
        "        self.hog = bytearray(4 * 1024 ** 3)\n"
    )
    checkout = repo(tmp_path / "repo", {"first": component("First", body)})
    done = run(checkout, tmp_path)
    assert done.outcome == "failed" and done.result is not None
    assert any("MemoryError" in (e.kind + e.message) for e in done.result.errors)
    assert [c.outcome for c in done.result.components] == ["failed"]


def sleeper(name: str, pidfile: Path, timeout: str = "") -> str:
    body = (f"    {timeout}\n" if timeout else "") + (
        f"    def verify(self):\n        self.cmd('echo $$ > {pidfile}; exec sleep 1000')\n"
    )
    return component(name, body)


def dead(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state in ("Z", "X")  # a zombie waiting for a reaper is dead too


def test_component_over_its_own_limit_is_killed_with_its_children(tmp_path: Path) -> None:
    pidfile = tmp_path / "sleep.pid"
    checkout = repo(
        tmp_path / "repo",
        {
            "slow": sleeper("Slow", pidfile, timeout="deployd_timeout = 1"),
            "after": component("After", "    def verify(self):\n        pass\n"),
        },
    )
    done, events = run_with_events(checkout, tmp_path)
    assert (done.outcome, done.timed_out_component) == ("timeout", "slow")
    assert done.error and done.error.kind == "Timeout"
    assert done.error.message == "component 'slow' exceeded its time limit of 1s"
    sleep_pid = int(pidfile.read_text())
    wait_for(lambda: dead(sleep_pid), timeout=30)
    started = [e["component"] for e in events if e["event"] == "component-started"]
    assert started == ["slow"]


def test_run_over_its_limit_names_the_running_component(tmp_path: Path) -> None:
    pidfile = tmp_path / "sleep.pid"
    checkout = repo(tmp_path / "repo", {"slow": sleeper("Slow", pidfile)})
    done = run(checkout, tmp_path, limits=Limits(run=1.5, grace=1.0))
    assert (done.outcome, done.timed_out_component) == ("timeout", "slow")
    assert done.error and done.error.message == (
        "the run exceeded its time limit of 1.5s while component 'slow' was running"
    )
    sleep_pid = int(pidfile.read_text())
    wait_for(lambda: dead(sleep_pid), timeout=30)


def test_sigterm_ignored_by_worker_and_grandchild_ends_in_sigkill_after_the_grace(
    tmp_path: Path,
) -> None:
    """A worker and a grandchild that both ignore SIGTERM: SIGKILL to the whole process group
    once the grace has passed ends them both; the run is a timeout naming the component."""
    pidfile = tmp_path / "grandchild.pid"
    body = (
        "    def verify(self):\n"
        "        signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        f"        self.cmd(\"(trap '' TERM; sleep 1000 & echo $! > {pidfile}; wait); true\")\n"
    )
    checkout = repo(tmp_path / "repo", {"stubborn": component("Stubborn", body)})
    done = run(checkout, tmp_path, limits=Limits(run=1.0, grace=1.0))
    assert (done.outcome, done.timed_out_component) == ("timeout", "stubborn")
    assert done.signal == 9  # SIGTERM was ignored: the group's SIGKILL ended the worker
    assert done.duration >= 2.0  # the grace was granted before the SIGKILL
    grandchild = int(pidfile.read_text())
    wait_for(lambda: dead(grandchild), timeout=30)


WAIT_FOR_USR1 = """\
    def verify(self):
        seen = []
        previous = signal.getsignal(signal.SIGUSR1)
        def note(signum, frame):
            seen.append(signum)
            previous(signum, frame)
        signal.signal(signal.SIGUSR1, note)
        self.log("waiting for SIGUSR1")
        deadline = time.monotonic() + 30
        while not seen and time.monotonic() < deadline:
            time.sleep(0.01)
"""


def test_cancel_stops_between_components(tmp_path: Path) -> None:
    checkout = repo(
        tmp_path / "repo",
        {
            "first": component("First", WAIT_FOR_USR1),
            "second": component("Second", "    def verify(self):\n        pass\n"),
        },
    )
    cancel = threading.Event()
    events: list[dict[str, Any]] = []

    def on_event(event: dict[str, Any]) -> None:
        events.append(event)
        if event["event"] == "log" and "waiting for SIGUSR1" in event["message"]:
            cancel.set()  # a newer commit arrived while "first" runs

    done = run_worker(request(checkout, tmp_path), on_event, limits=QUICK, cancel=cancel)
    assert done.outcome == "cancelled", done.errors
    assert [e["component"] for e in events if e["event"] == "component-started"] == ["first"]
    assert done.result and [
        c.component for c in done.result.components if c.outcome != "skipped"
    ] == ["first"]


def test_a_failing_event_consumer_does_not_break_the_run(tmp_path: Path) -> None:
    checkout = repo(tmp_path / "repo", {"first": component("First", "    pass\n")})

    def explode(event: dict[str, Any]) -> None:
        raise RuntimeError("consumer bug")

    assert run_worker(request(checkout, tmp_path), explode, limits=QUICK).outcome == "succeeded"


def test_a_failing_stderr_consumer_does_not_block_a_chatty_worker(tmp_path: Path) -> None:
    chatty = (
        "    def verify(self):\n        import sys\n        for _ in range(5000):\n"
        "            sys.stderr.write('x' * 99 + '\\n')\n"
    )
    checkout = repo(tmp_path / "repo", {"chatty": component("Chatty", chatty)})

    def explode(line: str) -> None:
        raise RuntimeError("consumer bug")

    # 500 KB of stderr: far beyond a pipe's buffer, so the worker blocks unless it is drained
    limits = Limits(grace=1.0, component=20.0)  # blocked, it would time out after 20 s
    done = run_worker(request(checkout, tmp_path), limits=limits, on_stderr=explode)
    assert done.outcome == "succeeded", done.error


def test_debugger_pauses_the_run_and_component_clocks() -> None:
    limits = Limits(run=10, component=5, debug=100)
    clock = Clock(limits, started=0.0)
    clock.observe({"event": "component-started", "component": "app", "timeout": None}, now=1.0)
    assert (clock.deadline(), clock.expired(6.0)) == (6.0, "component")
    clock.observe({"event": "debugger-waiting"}, now=2.0)
    assert (clock.deadline(), clock.expired(50.0)) == (102.0, "debug")
    clock.observe({"event": "debugger-done"}, now=62.0)  # 60 s in the debugger
    assert (clock.run_deadline, clock.deadline()) == (70.0, 66.0)
    clock.observe({"event": "component-finished", "component": "app"}, now=63.0)
    assert (clock.deadline(), clock.expired(70.0), clock.component) == (70.0, "run", None)


def test_a_component_declared_limit_wins_over_the_default() -> None:
    clock = Clock(Limits(component=5), started=0.0)
    clock.observe({"event": "component-started", "component": "db", "timeout": 300}, now=0.0)
    assert clock.deadline() == min(300.0, Limits().run)


def test_the_parent_never_imports_user_code(tmp_path: Path) -> None:
    checkout = repo(tmp_path / "repo", {"first": component("First", "    pass\n")})
    code = (
        "import sys; from daemon.worker.spawn import run_worker\n"
        "from components_runtime.protocol import WorkerRequest\n"
        f"done = run_worker(WorkerRequest(repository={str(checkout)!r}, environment='test',"
        f" host='localhost', root={str(tmp_path / 'root')!r}))\n"
        "assert done.outcome == 'succeeded', done.errors\n"
        "print(sorted(n for n in sys.modules if n.split('.')[0] in ('batou', 'components_runtime')"
        " and n not in ('components_runtime', 'components_runtime.protocol')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_abort_stops_the_worker_and_its_children_now(tmp_path: Path) -> None:
    checkout = repo(
        tmp_path / "repo",
        {
            "slow": component(
                "Slow",
                (
                    "    def verify(self):\n"
                    "        import subprocess\n"
                    "        child = subprocess.Popen(['sleep', '1000'])\n"
                    "        self.log('child %s started', child.pid)\n"
                    "        child.wait()\n"
                ),
            )
        },
    )
    abort = threading.Event()
    children: list[int] = []

    def on_event(event: dict[str, Any]) -> None:
        if event["event"] == "log" and "started" in event["message"]:
            children.append(int(event["message"].split()[1]))
            abort.set()  # the daemon is shutting down

    done = run_worker(request(checkout, tmp_path), on_event, limits=QUICK, abort=abort)
    assert (done.outcome, done.result) == ("cancelled", None)
    assert done.error and (done.error.kind, done.error.component) == ("Aborted", "slow")
    wait_for(lambda: dead(children[0]), timeout=30)


def test_a_worker_that_cannot_start_is_a_crash_not_an_exception(tmp_path: Path) -> None:
    done = run_worker(request(tmp_path, tmp_path), python=tmp_path / "no-such-python")
    assert (done.outcome, done.returncode) == ("crashed", None)
    assert done.error and "cannot start the worker" in done.error.message


def test_worker_and_its_children_die_with_the_runner(tmp_path: Path) -> None:
    pidfile = tmp_path / "sleep.pid"
    checkout = repo(tmp_path / "repo", {"slow": sleeper("Slow", pidfile)})
    code = (
        "from daemon.worker.spawn import run_worker\n"
        "from components_runtime.protocol import WorkerRequest\n"
        f"run_worker(WorkerRequest(repository={str(checkout)!r}, environment='test',"
        f" host='localhost', root={str(tmp_path / 'root')!r}))\n"
    )
    daemon = subprocess.Popen([sys.executable, "-c", code])
    try:
        sleep_pid = wait_for(
            lambda: pidfile.exists() and pidfile.read_text().strip() and int(pidfile.read_text())
        )
        stat = Path(f"/proc/{sleep_pid}/stat").read_text().rsplit(")", 1)[1].split()
        worker_pid = int(stat[1])  # the sleep's parent
    finally:
        daemon.kill()  # kill -9 of the daemon: no chance to clean up
        daemon.wait()
    wait_for(lambda: dead(worker_pid) and dead(sleep_pid), timeout=30)


def test_a_process_a_component_left_behind_is_ended_and_named(tmp_path: Path) -> None:
    body = (
        "    def verify(self):\n"
        "        import subprocess\n"
        "        subprocess.Popen(['sleep', '313'])  # forgotten: it would outlive the run\n"
    )
    checkout = repo(tmp_path / "repo", {"forgetful": component("Forgetful", body)})
    done, _ = run_with_events(checkout, tmp_path)
    assert done.outcome == "succeeded", done.error
    [warning] = done.leftovers
    assert warning.startswith("a process the run left behind was ended (pid ")
    assert warning.endswith(": sleep 313)")
    pid = int(warning.split("pid ", 1)[1].split(":", 1)[0])
    wait_for(lambda: not os.path.exists(f"/proc/{pid}") or _state(pid) == "Z")


def _state(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(") ")[2].split()[0]
    except OSError:
        return "gone"
