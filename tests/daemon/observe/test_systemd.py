"""systemd integration: the unit verifies cleanly; READY/STATUS/WATCHDOG/STOPPING arrive on a
real AF_UNIX datagram socket (with systemd-python and with the pure-Python fallback); logging
picks the journal or plain lines."""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from daemon.observe.logs import setup_logging
from tests.support.daemon_helpers import deployd_command, make_deploy_repo, run_daemon
from tests.support.helpers import wait_for
from tests.support.paths import REPO_ROOT

UNIT = REPO_ROOT / "systemd" / "deployd.service"


def test_unit_passes_systemd_analyze_verify_with_empty_stderr(tmp_path: Path) -> None:
    # ExecStart and ExecCondition must name a program that exists where the check runs: ours.
    program = shutil.which(deployd_command()[0]) or deployd_command()[0]
    text = UNIT.read_text()
    assert "ExecStart=/usr/bin/deployd run" in text and "Type=notify" in text
    assert "ExecCondition=/usr/bin/deployd configured --config /etc/deployd/deployd.toml" in text
    unit = tmp_path / "deployd.service"
    unit.write_text(text.replace("=/usr/bin/deployd ", f"={program} "))
    done = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""


class NotifySocket:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.05)
        self.messages: list[str] = []

    def receive(self) -> list[str]:
        try:
            while True:
                self.messages.append(self.sock.recv(4096).decode())
        except TimeoutError:
            pass
        return self.messages

    def has(self, prefix: str) -> bool:
        return any(m.startswith(prefix) or f"\n{prefix}" in m for m in self.receive())


@pytest.mark.parametrize("backend", ["systemd-python", "pure-python"])
def test_notify_ready_status_watchdog_stopping(tmp_path: Path, backend: str) -> None:
    repo = make_deploy_repo(tmp_path / "repo")
    notify = NotifySocket(Path(tmp_path.parent / f"n-{backend}.sock"))
    env = {"NOTIFY_SOCKET": str(notify.path), "WATCHDOG_USEC": "600000"}
    if backend == "pure-python":
        env["DEPLOYD_NO_SYSTEMD_PYTHON"] = "1"
    try:
        with run_daemon(tmp_path, repo, env=env) as daemon:
            wait_for(lambda: notify.has("READY=1"))
            ready = next(m for m in notify.messages if "READY=1" in m)
            assert "STATUS=testhost" in ready and f"MAINPID={daemon.process.pid}" in ready
            daemon.wait_run(outcome="succeeded")
            wait_for(
                lambda: any(
                    "deployed" in m and "last run succeeded" in m
                    for m in notify.receive()
                    if m.startswith("STATUS=")
                )
            )
            count = notify.messages.count("WATCHDOG=1")
            wait_for(lambda: notify.receive().count("WATCHDOG=1") >= count + 2)
            assert f"notify: {backend}" in daemon.output()
        wait_for(lambda: notify.has("STOPPING=1"))
    finally:
        notify.sock.close()


def test_logging_sinks(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    saved = list(root.handlers), root.level
    try:
        monkeypatch.delenv("JOURNAL_STREAM", raising=False)
        assert setup_logging() == "plain"
        logging.getLogger("daemon.test").info("run done", extra={"run_id": "R1", "commit": "abc"})
        assert "INFO daemon.test: run done [run_id=R1 commit=abc]" in capsys.readouterr().err
        monkeypatch.setenv("JOURNAL_STREAM", "8:1234")  # inherited: stderr is not that stream
        assert setup_logging() == "plain"
        stderr = os.fstat(2)
        monkeypatch.setenv("JOURNAL_STREAM", f"{stderr.st_dev}:{stderr.st_ino}")
        assert setup_logging() == "journal"  # systemd-python is installed here
        logging.getLogger("daemon.test").info("to the journal", extra={"run_id": "R2"})
        monkeypatch.setenv("DEPLOYD_NO_SYSTEMD_PYTHON", "1")
        assert setup_logging() == "plain"
        logging.getLogger("daemon.test").warning("plain under systemd")
        line = capsys.readouterr().err.strip()
        assert line == "WARNING daemon.test: plain under systemd", "journald adds the time"
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
