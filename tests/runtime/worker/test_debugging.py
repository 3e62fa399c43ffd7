"""breakpoint() in a component: a real remote-pdb session over a socket, or a warning."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

from daemon.config import debug_endpoint
from daemon.config.limits import Limits
from daemon.runs.one_shot import attach_instructions
from daemon.worker.spawn import run_worker
from tests.support.debug_client import BREAKS, next_event, read_until, start_run
from tests.support.helpers import make_repo
from tests.support.worker_repos import repo, request


def test_breakpoint_opens_remote_pdb_and_the_run_completes(tmp_path: Path) -> None:
    checkout = repo(tmp_path / "repo", {"paused": BREAKS})
    thread, events, done = start_run(checkout, tmp_path, Limits(grace=1), debug=True, debug_port=0)
    waiting = next_event(events, "debugger-waiting")
    assert (waiting["file"], waiting["line"]) == ("components/paused/component.py", 7)
    assert waiting["host"] == "127.0.0.1" and waiting["port"] > 0
    with socket.create_connection(("127.0.0.1", waiting["port"]), timeout=30) as connection:
        assert b"self.after = secret" in read_until(connection, b"(Pdb) ")
        connection.sendall(b"p secret\r\n")
        assert b"42" in read_until(connection, b"(Pdb) ")
        connection.sendall(b"c\r\n")
        assert connection.recv(4096) == b""  # the session closes once the code runs on
    next_event(events, "debugger-done")
    thread.join(timeout=30)
    assert done and done[0].outcome == "succeeded", done[0].errors if done else "no result"


def test_waiting_debugger_is_limited_by_the_debug_limit(tmp_path: Path) -> None:
    checkout = repo(tmp_path / "repo", {"paused": BREAKS})
    thread, events, done = start_run(
        checkout, tmp_path, Limits(debug=1, grace=1), debug=True, debug_port=0
    )
    next_event(events, "debugger-waiting")  # nobody attaches
    thread.join(timeout=30)
    assert done[0].outcome == "timeout" and done[0].error is not None
    assert done[0].error.message == (
        "a debugger session exceeded its time limit of 1s while component 'paused' was running"
    )


def test_outside_debug_mode_a_breakpoint_warns_and_the_run_continues(tmp_path: Path) -> None:
    checkout = repo(tmp_path / "repo", {"paused": BREAKS})
    events: list[dict[str, Any]] = []
    done = run_worker(request(checkout, tmp_path), events.append, limits=Limits(grace=1))
    assert done.outcome == "succeeded", done.errors
    warnings = [e["message"] for e in events if e["event"] == "log" and e["level"] == "warning"]
    assert any(
        "breakpoint() at components/paused/component.py:7 skipped: not in debug mode" in w
        and "deployd apply --debug" in w
        and "`debug = true` in the daemon's settings" in w
        for w in warnings
    ), warnings
    assert not any(e["event"] == "debugger-waiting" for e in events)
    assert done.result is not None
    assert [w for w in done.result.warnings if "not in debug mode" in w] == warnings[:1]


def test_a_non_loopback_debug_host_is_refused(tmp_path: Path) -> None:
    checkout = repo(tmp_path / "repo", {"paused": BREAKS})
    events: list[dict[str, Any]] = []
    done = run_worker(
        request(checkout, tmp_path, debug=True, debug_host="0.0.0.0"),
        events.append,
        limits=Limits(grace=1),
    )
    assert done.outcome == "succeeded", done.errors
    assert any(
        "REMOTE_PDB_HOST=0.0.0.0 is not a loopback address" in e.get("message", "") for e in events
    )


def test_debug_endpoint_and_attach_instructions() -> None:
    assert debug_endpoint({}) == ("127.0.0.1", 4444)
    assert debug_endpoint({"REMOTE_PDB_HOST": "", "REMOTE_PDB_PORT": "5555"}) == ("127.0.0.1", 5555)
    text = attach_instructions(
        {"host": "127.0.0.1", "port": 4444, "file": "components/app/component.py", "line": 12},
        ssh_host="web1.example.com",
    )
    assert "breakpoint() at components/app/component.py:12" in text
    assert "ssh -L 4444:localhost:4444 web1.example.com" in text
    assert "nc -C 127.0.0.1 4444" in text


def test_quitting_the_debugger_fails_that_component(tmp_path: Path) -> None:
    checkout = repo(tmp_path / "repo", {"paused": BREAKS})
    thread, events, done = start_run(checkout, tmp_path, Limits(grace=1), debug=True, debug_port=0)
    waiting = next_event(events, "debugger-waiting")
    with socket.create_connection(("127.0.0.1", waiting["port"]), timeout=30) as connection:
        read_until(connection, b"(Pdb) ")
        connection.sendall(b"q\r\n")
    next_event(events, "debugger-done")
    thread.join(timeout=30)
    assert done[0].outcome == "failed"
    assert done[0].result and [c.outcome for c in done[0].result.components] == ["failed"]
    assert any("BdbQuit" in e.message for e in done[0].errors), done[0].errors


def test_a_busy_debug_port_fails_the_component_clearly(tmp_path: Path) -> None:
    checkout = repo(tmp_path / "repo", {"paused": BREAKS})
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        done = run_worker(
            request(checkout, tmp_path, debug=True, debug_port=port), limits=Limits(grace=1)
        )
    assert done.outcome == "failed"
    (error,) = done.errors
    assert error.message.startswith(
        f"breakpoint() at components/paused/component.py:7: remote-pdb cannot listen on "
        f"127.0.0.1:{port}: Address already in use"
    )
    assert error.hint and "REMOTE_PDB_PORT" in error.hint


def test_the_run_limit_stands_still_while_a_debugger_is_attached(tmp_path: Path) -> None:
    import time

    checkout = repo(tmp_path / "repo", {"paused": BREAKS})
    limits = Limits(run=1, component=1, debug=60, grace=1)
    thread, events, done = start_run(checkout, tmp_path, limits, debug=True, debug_port=0)
    waiting = next_event(events, "debugger-waiting")
    with socket.create_connection(("127.0.0.1", waiting["port"]), timeout=30) as connection:
        read_until(connection, b"(Pdb) ")
        time.sleep(1.5)  # deliberately longer than the run and component limits
        connection.sendall(b"c\r\n")
    thread.join(timeout=30)
    assert done[0].outcome == "succeeded", done[0].errors


CONFIGURE_BREAKS = """\
from batou.component import Component


class Paused(Component):
    def configure(self):
        breakpoint()
"""


def test_a_breakpoint_in_another_hosts_component_never_stops_this_host(tmp_path: Path) -> None:
    """Configure runs every host's roots: only this host's may wait for a debugger."""
    checkout = make_repo(tmp_path / "repo", {
        ".batou.json": '{"migration": {"version": 2400}}\n',
        "environments/test/environment.cfg": "[hosts]\nlocalhost = hello\nother = paused\n",
        "components/hello/component.py": CONFIGURE_BREAKS.replace("Paused", "Hello").replace(
            "breakpoint()", "pass"
        ),
        "components/paused/component.py": CONFIGURE_BREAKS,
    })  # fmt: skip
    events: list[dict[str, Any]] = []
    done = run_worker(
        request(checkout, tmp_path, debug=True, debug_port=0),
        events.append,
        limits=Limits(debug=5, grace=1),
    )
    assert not any(e["event"] == "debugger-waiting" for e in events), events
    assert done.outcome == "succeeded", done.errors
    assert done.result is not None
    assert any(
        "breakpoint() at components/paused/component.py:6 skipped" in w
        and "configuring host other, not this host" in w
        for w in done.result.warnings
    ), done.result.warnings


LATER = """\
from batou.component import Component
from batou.lib.file import File


class Later(Component):
    def configure(self):
        self += File("later.txt", content="ran")
"""


def _quit_at_the_breakpoint(events: Any) -> None:
    waiting = next_event(events, "debugger-waiting")
    with socket.create_connection(("127.0.0.1", waiting["port"]), timeout=30) as connection:
        read_until(connection, b"(Pdb) ")
        connection.sendall(b"q\r\n")
    next_event(events, "debugger-done")


def test_quit_in_configure_ends_the_run_without_reopening(tmp_path: Path) -> None:
    """configure retries a failed root: after `q` its breakpoint must not wait again."""
    checkout = repo(tmp_path / "repo", {"paused": CONFIGURE_BREAKS, "later": LATER})
    thread, events, done = start_run(
        checkout, tmp_path, Limits(debug=5, grace=1), debug=True, debug_port=0
    )
    _quit_at_the_breakpoint(events)
    thread.join(timeout=30)
    seen = [events.get_nowait()["event"] for _ in range(events.qsize())]
    assert "debugger-waiting" not in seen, seen
    assert done[0].outcome == "failed", done[0]
    assert any("BdbQuit" in e.message for e in done[0].errors), done[0].errors
    assert not (tmp_path / "root/work/later/later.txt").exists()


def test_quit_in_verify_ends_the_run_at_once(tmp_path: Path) -> None:
    checkout = repo(tmp_path / "repo", {"paused": BREAKS, "later": LATER})
    thread, events, done = start_run(checkout, tmp_path, Limits(grace=1), debug=True, debug_port=0)
    _quit_at_the_breakpoint(events)
    thread.join(timeout=30)
    assert done[0].result is not None, done[0]
    outcomes = [(c.component, c.outcome) for c in done[0].result.components]
    assert outcomes == [("paused", "failed"), ("later", "skipped")], outcomes
    assert not (tmp_path / "root/work/later/later.txt").exists()
