"""The daemon as a real subprocess on real git repositories: converge, triggers, ratchet, state."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import stat
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.daemon_helpers import (
    HOST,
    deploy_files,
    make_deploy_repo,
    push_content,
    run_daemon,
)
from tests.support.helpers import commit, git, make_repo, wait_for
from tests.support.paths import REPO_ROOT


def _content(daemon, name: str = "hello") -> str:  # type: ignore[no-untyped-def]
    path = daemon.root / "work" / name / f"{name}.txt"
    return path.read_text() if path.exists() else ""


def test_converges_at_startup_on_push_and_on_demand(tmp_path: Path) -> None:
    repo = make_deploy_repo(tmp_path / "repo")
    with run_daemon(tmp_path, repo) as daemon:
        first = daemon.wait_run(trigger="startup", outcome="succeeded")
        assert _content(daemon) == "hello version 1\n"
        assert first["components"][0]["outcome"] == "changed"
        assert first["host"] == HOST and first["commit"]["subject"] == "initial"

        sha = push_content(repo, "version 2")  # a local repository: the push watcher fires
        pushed = daemon.wait_run(trigger="push", commit__sha=sha)
        assert pushed["outcome"] == "succeeded"
        assert _content(daemon) == "hello version 2\n"

        done = daemon.cli("converge", "--wait", "--json")
        assert done.returncode == 0, done.stderr
        again = json.loads(done.stdout)
        assert again["trigger"] == "api" and again["commit"]["sha"] == sha
        assert [c["outcome"] for c in again["components"]] == ["unchanged"]

        status = daemon.status()
        assert status["schema"] == 1 and status["host"] == HOST
        assert status["state"]["last_good"]["sha"] == sha
        assert status["state"]["ratchet"] == sha
        counters = status["state"]["counters"]["runs_total"]
        assert counters["outcome=succeeded,trigger=startup"] == 1
        assert "fetch_duration_seconds" in status["state"]["histograms"]

        text = daemon.cli("status", check=True).stdout
        assert f"deployed       {sha[:10]}" in text and "up to date" in text
        assert daemon.cli("status", "--oneline", check=True).stdout.startswith(
            f"{HOST} deployed={sha[:7]} last=succeeded"
        )
        history = daemon.cli("history", check=True).stdout
        assert history.count("succeeded") == 3
        detail = daemon.cli("history", pushed["id"], check=True).stdout
        assert f"run {pushed['id']}: succeeded" in detail and "changed   hello" in detail
        missing = daemon.cli("history", "20000101T000000-000009")
        assert missing.returncode == 2 and "no run" in missing.stderr
    assert daemon.process.returncode == 0
    assert "Traceback" not in daemon.output()
    line = next(x for x in daemon.output().splitlines() if "converge: hello changed" in x)
    assert f"[run_id={first['id']} commit={first['commit']['sha']} component=hello]" in line


def test_force_push_is_refused_until_trusted(tmp_path: Path) -> None:
    repo = make_deploy_repo(tmp_path / "repo")
    good = push_content(repo, "version 2")
    with run_daemon(tmp_path, repo, watch_repository=False, poll_interval=0.2) as daemon:
        daemon.wait_run(trigger="startup", outcome="succeeded", commit__sha=good)
        git("reset", "-q", "--hard", "HEAD~1", cwd=repo)
        rewritten = push_content(repo, "rewritten")
        refused = daemon.wait_run(outcome="refused")
        assert refused["reason"] == "not-fast-forward"
        assert refused["commit"]["sha"] == rewritten
        assert "rewritten" in refused["errors"][0]["message"]
        assert _content(daemon) == "hello version 2\n", "nothing converged"
        status = daemon.status()
        assert status["state"]["refused_commit"] == rewritten
        assert status["state"]["ratchet"] == good
        assert "REFUSED" in daemon.cli("status").stdout
        assert "not a fast-forward" in daemon.output()
        assert f"WARNING daemon.run: run {refused['id']}: refused: " in daemon.output()

        unknown = daemon.cli("trust", "0" * 40)
        assert unknown.returncode == 2 and "unknown commit" in unknown.stderr
        daemon.cli("trust", rewritten, check=True)
        trusted = daemon.wait_run(outcome="succeeded", commit__sha=rewritten)
        assert trusted["trigger"] == "manual"
        assert _content(daemon) == "hello rewritten\n"
        assert daemon.status()["state"]["refused_commit"] is None


def test_suspend_polls_but_does_not_converge(tmp_path: Path) -> None:
    repo = make_deploy_repo(tmp_path / "repo")
    with run_daemon(tmp_path, repo, watch_repository=False, poll_interval=0.2) as daemon:
        daemon.wait_run(trigger="startup", outcome="succeeded")
        assert "suspended: maintenance" in daemon.cli("suspend", "--reason", "maintenance").stdout
        sha = push_content(repo, "version 2")
        wait_for(lambda: daemon.status()["state"]["upstream"]["sha"] == sha)
        status = daemon.status()
        assert status["state"]["suspended_reason"] == "maintenance"
        assert len(daemon.runs()) == 1 and _content(daemon) == "hello version 1\n"
        refused = daemon.cli("converge", "--wait")
        assert refused.returncode == 1 and "suspended" in refused.stderr
        queued = daemon.cli("converge")
        assert queued.returncode == 1 and "no run started: suspended: maintenance" in queued.stderr
        text = daemon.cli("status").stdout
        assert "BEHIND" in text
        assert re.search(r"^next converge +- \(suspended\)$", text, re.M), text
    stored = json.loads((daemon.state_dir / "state.json").read_text())
    assert stored["last_fetch_error"] is None, "a clean stop is no fetch failure"
    assert stored["counters"]["fetch_total"].get("outcome=failed", 0) == 0
    # the suspension is stored: it survives a restart, and the start-up converge waits too
    with run_daemon(tmp_path, repo, watch_repository=False, state_dir=daemon.state_dir) as daemon:
        wait_for(lambda: daemon.status()["live"]["next_poll_at"])
        assert daemon.status()["state"]["suspended_reason"] == "maintenance"
        assert len(daemon.runs()) == 1, "no start-up converge while suspended"
        daemon.cli("resume", check=True)
        daemon.wait_run(outcome="succeeded", commit__sha=sha)
        assert _content(daemon) == "hello version 2\n"


FAILING_COMPONENT = """\
from batou.component import Component


class Broken(Component):
    def verify(self):
        raise AssertionError("always out of date")

    def update(self):
        raise RuntimeError("disk full")
"""


def test_a_failed_run_logs_why_at_error_level(tmp_path: Path) -> None:
    """`journalctl -p err` alone must say what broke: the error, its place, the component."""
    files = {
        "environments/test/environment.cfg": f"[host:{HOST}]\ncomponents = broken\n",
        "components/broken/component.py": FAILING_COMPONENT,
    }
    repo = make_repo(tmp_path / "repo", files)
    with run_daemon(tmp_path, repo, watch_repository=False) as daemon:
        run = daemon.wait_run(trigger="startup", outcome="failed")
        wait_for(lambda: f"run {run['id']}: failed" in daemon.output())
        (line,) = [n for n in daemon.output().splitlines() if f"run {run['id']}: failed" in n]
        assert " ERROR daemon.run: " in line, line
        assert "RuntimeError: disk full at components/broken/component.py:9" in line, line
        assert "component=broken" in line, "the journal field, shown in plain lines"


@pytest.mark.parametrize(
    ("host", "components", "reason"),
    [("otherhost", ("hello",), "host-missing"), (HOST, (), "host-empty")],
)
def test_host_selection_fails_safe(
    tmp_path: Path, host: str, components: tuple[str, ...], reason: str
) -> None:
    repo = make_deploy_repo(tmp_path / "repo", host=host, components=components)
    with run_daemon(tmp_path, repo, watch_repository=False, poll_interval=0.2) as daemon:
        run = daemon.wait_run(trigger="startup")
        assert run["outcome"] == "refused" and run["reason"] == reason, run
        assert not (daemon.root / "work").exists() or not any((daemon.root / "work").iterdir())
        before = daemon.status()["state"]["last_fetch_at"]
        wait_for(lambda: daemon.status()["state"]["last_fetch_at"] > before)
        assert daemon.status()["state"]["counters"]["refused_total"] == {f"reason={reason}": 1}


QUICK = """\
from batou.component import Component
from batou.lib.file import File


class Alpha(Component):
    def configure(self):
        self += File("alpha.txt", content="alpha")
"""


def test_kill_9_during_a_run_then_restart(tmp_path: Path) -> None:
    files = deploy_files(components=("alpha", "hello"))
    files["components/alpha/component.py"] = QUICK  # converges, then hello blocks
    repo = make_repo(tmp_path / "repo", files)
    block = tmp_path / "block"
    block.touch()
    env = {"DEPLOYD_TEST_BLOCK": str(block)}
    state_dir = tmp_path / "state"
    with run_daemon(tmp_path, repo, env=env, state_dir=state_dir) as daemon:
        wait_for(lambda: daemon.status()["live"]["running_component"] == "hello", timeout=60)
        marker = json.loads((state_dir / "running.json").read_text())
        worker = wait_for(
            lambda: json.loads((state_dir / "running.json").read_text())["worker_pid"]
        )
        assert marker["trigger"] == "startup"
        killed = time.time()
        daemon.process.send_signal(signal.SIGKILL)
        daemon.process.wait(10)
    # The worker dies with its daemon (PR_SET_PDEATHSIG): no unsupervised converge goes on.
    wait_for(lambda: not Path(f"/proc/{worker}").exists() or _zombie(worker))
    with run_daemon(tmp_path, repo, env=env, state_dir=state_dir) as daemon:
        crashed = daemon.wait_run(outcome="crashed")
        assert crashed["id"] == marker["id"] and crashed["reason"] == "daemon-restarted"
        assert (crashed["host"], crashed["environment"]) == (HOST, "test")
        assert crashed["commit"]["subject"] == "initial"
        assert [(c["component"], c["outcome"]) for c in crashed["components"]] == [
            ("alpha", "changed")
        ], "what finished before the crash is kept"
        assert crashed["finished_at"] <= killed, "the daemon's downtime is no part of the run"
        wait_for(lambda: not Path(f"/proc/{worker}").exists() or _zombie(worker))
        block.unlink()
        daemon.wait_run(outcome="succeeded", trigger="startup")
        assert _content(daemon) == "hello version 1\n"
        counters = daemon.status()["state"]["counters"]["runs_total"]
        assert counters == {
            "outcome=crashed,trigger=startup": 1,
            "outcome=succeeded,trigger=startup": 1,
        }


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z")
    except (OSError, IndexError):
        return True


def test_sigterm_lets_the_running_component_finish(tmp_path: Path) -> None:
    repo = make_deploy_repo(tmp_path / "repo", components=("first", "second"))
    block = tmp_path / "block"
    block.touch()
    with run_daemon(tmp_path, repo, env={"DEPLOYD_TEST_BLOCK": str(block)}) as daemon:
        wait_for(lambda: daemon.status()["live"]["running_component"] == "first", timeout=60)
        daemon.process.send_signal(signal.SIGTERM)
        wait_for(lambda: "letting run" in daemon.output())
        assert daemon.alive(), "the daemon waits for the running component"
        block.unlink()
        assert daemon.process.wait(30) == 0
        run = daemon.wait_run(trigger="startup")
        assert run["outcome"] == "cancelled"
        assert [c["component"] for c in run["components"] if c["outcome"] != "skipped"] == ["first"]
        assert (daemon.root / "work/first/first.txt").exists()
        assert not (daemon.root / "work/second/second.txt").exists()
        assert not daemon.socket.exists()


def test_api_socket_is_private_and_single(tmp_path: Path) -> None:
    repo = make_deploy_repo(tmp_path / "repo")
    with run_daemon(tmp_path, repo) as daemon:
        assert stat.S_IMODE(daemon.socket.stat().st_mode) == 0o660
        assert not daemon.socket.parent.stat().st_mode & stat.S_IWOTH
        with run_daemon(tmp_path / "2", repo, socket=str(daemon.socket), may_fail=True) as other:
            assert other.process.wait(30) == 2
        assert "another deployd is already answering" in other.output()
        assert daemon.alive()
    world = tmp_path / "world"
    world.mkdir()
    os.chmod(world, 0o777)
    with run_daemon(tmp_path / "3", repo, socket=str(world / "s.sock"), may_fail=True) as third:
        assert third.process.wait(30) == 2
    assert "is world-writable" in third.output()


def test_bad_settings_stop_startup_with_file_line_and_key(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('repository = "/x"\nenvironment = "test"\npoll_intervall = 3\n')
    from tests.support.daemon_helpers import deployd_command

    done = subprocess.run(
        [*deployd_command(), "run", "--config", str(config)], capture_output=True, text=True
    )
    assert done.returncode == 2
    assert f"{config}:3: poll_intervall: unknown key" in done.stderr
    assert "Traceback" not in done.stderr


def test_status_without_a_daemon_says_so(tmp_path: Path) -> None:
    from tests.support.daemon_helpers import deployd_command

    start = time.monotonic()
    done = subprocess.run(
        [*deployd_command(), "status", "--socket", str(tmp_path / "none.sock")],
        capture_output=True,
        text=True,
    )
    assert time.monotonic() - start < 30
    assert done.returncode == 3 and "the daemon is not running" in done.stderr


def test_a_corrupt_state_file_stops_startup_clearly(tmp_path: Path) -> None:
    repo = make_deploy_repo(tmp_path / "repo")
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    (state_dir / "state.json").write_text("{torn")
    with run_daemon(tmp_path, repo, state_dir=state_dir, may_fail=True) as daemon:
        assert daemon.process.wait(30) == 2
    assert "state.json: cannot read the daemon state" in daemon.output()
    assert "Traceback" not in daemon.output()


def test_sigterm_grace_is_limited(tmp_path: Path) -> None:
    repo = make_deploy_repo(tmp_path / "repo")
    block = tmp_path / "block"
    block.touch()  # never removed: the component would run forever
    env = {"DEPLOYD_TEST_BLOCK": str(block)}
    with run_daemon(tmp_path, repo, env=env, shutdown_grace=0.5) as daemon:
        wait_for(lambda: daemon.status()["live"]["running_component"] == "hello", timeout=60)
        worker = wait_for(
            lambda: json.loads((daemon.state_dir / "running.json").read_text())["worker_pid"]
        )
        daemon.process.send_signal(signal.SIGTERM)
        assert daemon.process.wait(30) == 0
    assert "grace of 0.5s over, aborting the worker" in daemon.output()
    assert not Path(f"/proc/{worker}").exists() or _zombie(worker)
    run = daemon.wait_run(trigger="startup")
    assert run["outcome"] == "cancelled", run
    assert [e["kind"] for e in run["errors"]] == ["Aborted"], run["errors"]
    assert run["errors"][0]["component"] == "hello", run["errors"]
    assert not (daemon.state_dir / "running.json").exists()


BREAKPOINT_COMPONENT = """\
from batou.component import Component


class Hello(Component):
    def configure(self):
        self.value = 41
        breakpoint()
        self.value += 1
"""


def test_a_waiting_debugger_shows_in_status(tmp_path: Path) -> None:
    repo = make_deploy_repo(tmp_path / "repo")
    commit(repo, {"components/hello/component.py": BREAKPOINT_COMPONENT}, "debug me")
    with run_daemon(tmp_path, repo, debug=True, debug_port=0) as daemon:
        debugger = wait_for(lambda: daemon.status()["live"]["debugger"])
        assert debugger["host"] == "127.0.0.1" and debugger["port"] > 0
        assert debugger["file"].endswith("components/hello/component.py")
        text = daemon.cli("status").stdout
        assert f"nc -C 127.0.0.1 {debugger['port']}" in text
        assert f"ssh -t {HOST} nc -C 127.0.0.1 {debugger['port']}" in text
        assert "debugger-waiting" in daemon.cli("status", "--oneline").stdout
        with socket.create_connection(("127.0.0.1", debugger["port"])) as pdb:
            pdb.sendall(b"c\n")
            run = daemon.wait_run(trigger="startup")
        assert run["outcome"] == "succeeded", run
        assert daemon.status()["live"]["debugger"] is None
        assert "GET /status" not in daemon.output(), "reads stay out of the log, even in debug"


def test_an_unusable_state_dir_is_named(tmp_path: Path) -> None:
    repo = make_deploy_repo(tmp_path / "repo")
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the state dir should be")
    with run_daemon(tmp_path, repo, state_dir=blocker / "state", may_fail=True) as daemon:
        assert daemon.process.wait(30) == 2
    assert f"start-up failed: {blocker}/state" in daemon.output()
    assert "Traceback" not in daemon.output()


def test_the_daemon_demo_script_runs(tmp_path: Path) -> None:
    script = REPO_ROOT / "docs" / "daemon-demo.sh"
    done = subprocess.run(
        ["bash", str(script), "--once"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "push" in done.stdout and "localhost deployed=" in done.stdout


def test_one_daemon_per_state_dir(tmp_path: Path) -> None:
    repo = make_deploy_repo(tmp_path / "repo")
    with run_daemon(tmp_path, repo) as daemon:
        with run_daemon(tmp_path / "2", repo, state_dir=daemon.state_dir, may_fail=True) as other:
            assert other.process.wait(30) == 2
        assert "another daemon uses this state dir" in other.output()
        assert f"pid {daemon.process.pid}" in other.output()
        assert daemon.alive()
