"""A loop that cannot make progress stops feeding systemd's watchdog, and feeds it again once it
recovers. systemd itself (which would restart the service) cannot run here; what it acts on can:
the WATCHDOG=1 datagrams on a real NOTIFY_SOCKET.

The wedge is a real one: the state file is replaced by a directory, so every poll's save fails
(as on a broken disk). The API keeps answering from the last snapshot meanwhile."""

from __future__ import annotations

import socket
from pathlib import Path

from daemon_helpers import make_deploy_repo, run_daemon
from helpers import wait_for


class WatchdogListener:
    """The receiving end of NOTIFY_SOCKET: counts WATCHDOG=1 datagrams as they arrive."""

    def __init__(self, path: Path) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.setblocking(False)
        self.path = path
        self.pings = 0

    def drain(self) -> int:
        """Read everything sent so far; return the number of WATCHDOG=1 seen in total."""
        while True:
            try:
                message = self.sock.recv(4096).decode()
            except BlockingIOError:
                return self.pings
            self.pings += message.split("\n").count("WATCHDOG=1")


def test_a_wedged_loop_stops_the_watchdog_and_a_recovered_one_feeds_it(tmp_path: Path) -> None:
    repo = make_deploy_repo(tmp_path / "repo")
    listener = WatchdogListener(tmp_path.parent / f"wd-{tmp_path.name}.sock")
    env = {"NOTIFY_SOCKET": str(listener.path), "WATCHDOG_USEC": "400000"}  # ping every 0.2 s
    try:
        with run_daemon(tmp_path, repo, env=env, poll_interval=0.3) as daemon:
            daemon.wait_run(outcome="succeeded")
            wait_for(lambda: listener.drain() >= 3)

            state_file = daemon.state_dir / "state.json"
            state_file.unlink()
            state_file.mkdir()  # every save now fails: os.replace cannot replace a directory
            (state_file / "keep").write_text("a directory in the way\n")
            wait_for(lambda: "loop: " in daemon.output() and "retrying in" in daemon.output())
            before = listener.drain()  # every ping sent before the failure is in the socket now
            wait_for(lambda: "still failing (2 times)" in daemon.output(), timeout=30)
            assert listener.drain() == before, "a failing loop must not feed the watchdog"
            assert daemon.cli("status", "--oneline").returncode == 0, "the API keeps answering"

            (state_file / "keep").unlink()
            state_file.rmdir()
            wait_for(lambda: listener.drain() >= before + 3, timeout=30)
            wait_for(lambda: state_file.is_file())
            assert daemon.alive()
    finally:
        listener.sock.close()
        listener.path.unlink()  # it is beside tmp_path, not in it
