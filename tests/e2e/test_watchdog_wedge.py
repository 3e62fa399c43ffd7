"""A loop that cannot make progress stops feeding systemd's watchdog, and feeds it again once it
recovers. systemd itself (which would restart the service) cannot run here; what it acts on can:
the WATCHDOG=1 datagrams on a real NOTIFY_SOCKET.

The wedge is a real one: the state file is replaced by a directory, so every poll's save fails
(as on a broken disk). The API keeps answering from the last snapshot meanwhile."""

from __future__ import annotations

import signal
import socket
import threading
import time
from itertools import pairwise
from pathlib import Path

from tests.support.daemon_helpers import make_deploy_repo, run_daemon
from tests.support.helpers import wait_for


class WatchdogListener:
    """The receiving end of NOTIFY_SOCKET: counts WATCHDOG=1 datagrams as they arrive."""

    def __init__(self, path: Path) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.setblocking(False)
        self.path = path
        self.pings = 0

    def watch(self, pings: list[float]) -> None:
        """From now on, note the time of every WATCHDOG=1 in ``pings`` (in a thread)."""
        self._watching = True

        def receive() -> None:
            self.sock.settimeout(0.1)
            while self._watching:
                try:
                    message = self.sock.recv(4096).decode()
                except (TimeoutError, OSError):
                    continue
                if "WATCHDOG=1" in message.split("\n"):
                    pings.append(time.monotonic())

        self._thread = threading.Thread(target=receive, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if getattr(self, "_thread", None):
            self._watching = False
            self._thread.join(5)
        self.sock.close()

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

            def block() -> bool:  # every save now fails: os.replace cannot replace a directory
                try:
                    state_file.unlink(missing_ok=True)
                    state_file.mkdir()
                except OSError:  # the daemon wrote state.json in between: again
                    return False
                (state_file / "keep").write_text("a directory in the way\n")
                return True

            wait_for(block)
            wait_for(lambda: "loop: " in daemon.output() and "retrying in" in daemon.output())
            before = listener.drain()  # every ping sent before the failure is in the socket now
            wait_for(lambda: "still failing (2 times)" in daemon.output(), timeout=30)
            assert listener.drain() == before, "a failing loop must not feed the watchdog"
            oneline = daemon.cli("status", "--oneline")
            assert "daemon-failing" in oneline.stdout, "the API keeps answering, and says so"
            assert oneline.returncode == 1

            (state_file / "keep").unlink()
            state_file.rmdir()
            wait_for(lambda: listener.drain() >= before + 3, timeout=30)
            wait_for(lambda: state_file.is_file())
            assert daemon.alive()
    finally:
        listener.stop()
        listener.path.unlink()  # it is beside tmp_path, not in it


def test_a_hung_git_server_blocks_a_tick_for_one_poll_not_one_per_trigger(tmp_path: Path) -> None:
    """Triggers that queue up while git hangs must not each wait for git in the same tick:
    the watchdog is fed between ticks, so that would be N fetch limits without a ping, and
    systemd would restart a daemon that is only waiting for its git server."""
    hung = socket.socket()  # accepts connections (backlog) and never answers: a hung server
    hung.bind(("127.0.0.1", 0))
    hung.listen(32)
    url = f"git://127.0.0.1:{hung.getsockname()[1]}/deploy"
    listener = WatchdogListener(tmp_path.parent / f"wd-{tmp_path.name}.sock")
    pings: list[float] = []
    watchdog_sec = 5.0  # the fetch limit of 1 s fits: 2 * 1 + 2 < 5, no start-up warning
    env = {"NOTIFY_SOCKET": str(listener.path), "WATCHDOG_USEC": str(int(watchdog_sec * 1e6))}
    limits = {"fetch": 1}
    try:
        with run_daemon(tmp_path, url, env=env, poll_interval=600, limits=limits) as daemon:
            wait_for(lambda: "fetch: " in daemon.output())  # the start-up poll timed out
            assert "does not fit systemd's WatchdogSec" not in daemon.output()
            listener.watch(pings)
            triggers = [daemon.cli_process("converge") for _ in range(6)]
            for trigger in triggers:
                assert trigger.wait(30) == 0
            seen = len(pings)
            wait_for(lambda: len(pings) >= seen + 3, timeout=30)
            gaps = [later - earlier for earlier, later in pairwise(pings)]
            assert max(gaps) < watchdog_sec, f"{max(gaps):.1f}s without WATCHDOG=1: {gaps}"
            assert daemon.output().count("fetch: ") >= 2, "the triggers did poll, once per tick"
    finally:
        listener.stop()
        hung.close()


def _polling(pid: int) -> bool:
    """Whether the daemon ``pid`` runs its ``git ls-remote`` now."""
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        try:
            if b"ls-remote" in Path(f"/proc/{child}/cmdline").read_bytes():
                return True
        except OSError:
            continue
    return False


def test_sigterm_ends_a_poll_of_a_hung_git_server_at_once(tmp_path: Path) -> None:
    """A poll blocks the loop for up to the fetch limit (120 s by default), longer than
    systemd's TimeoutStopSec: on SIGTERM the git command is stopped, not waited for."""
    hung = socket.socket()
    hung.bind(("127.0.0.1", 0))
    hung.listen(32)
    url = f"git://127.0.0.1:{hung.getsockname()[1]}/deploy"
    try:
        with run_daemon(tmp_path, url, poll_interval=600) as daemon:
            wait_for(lambda: _polling(daemon.process.pid))  # the start-up poll waits
            daemon.process.send_signal(signal.SIGTERM)
            assert daemon.process.wait(30) == 0, "stopped well before the 120 s fetch limit"
        assert "git ls-remote: stopped, the daemon is stopping" in daemon.output()
        assert "Traceback" not in daemon.output()
    finally:
        hung.close()
