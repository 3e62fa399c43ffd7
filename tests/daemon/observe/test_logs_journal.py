"""Logging under systemd, end to end: a real ``deployd run`` with ``$JOURNAL_STREAM`` set sends
native-protocol datagrams to /run/systemd/journal/socket, where the test listens on a real
AF_UNIX socket and reads the fields; without systemd-python the same fields are in plain lines.

On a host without journald (this machine, CI) the socket path does not exist: the test creates
what is missing and removes only that. Where the path exists (a real systemd host), the test runs
itself again inside ``unshare --mount`` with a tmpfs on /run/systemd/journal, so the real journal
is neither hidden nor written to.

The path belongs to the whole machine, so a lock (``LOCK``) keeps a second test run away from it
while one uses it. Without it, one run's clean-up removed the directory the other run had mounted
its private tmpfs on, and since Linux 3.18 that detaches the mount in every namespace: the other
run's daemon lost its journal halfway through.
"""

from __future__ import annotations

import fcntl
import os
import socket
import struct
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.daemon_helpers import make_deploy_repo, run_daemon
from tests.support.helpers import wait_for
from tests.support.paths import REPO_ROOT

JOURNAL_DIR = Path("/run/systemd/journal")
SOCKET = JOURNAL_DIR / "socket"
PRIVATE_MARK = "DEPLOYD_TEST_PRIVATE_JOURNAL"
# Machine-wide on purpose (not in a run's own temporary directory): every test run on this machine
# shares /run/systemd/journal.
LOCK = Path("/tmp/deployd-tests-journal.lock")

Entry = dict[str, str]


def parse_native(data: bytes) -> Entry:
    """One journal entry in the native protocol: ``KEY=value\\n``, or for a value that may hold
    newlines ``KEY\\n`` + 64-bit little-endian length + bytes + ``\\n``."""
    entry: Entry = {}
    pos = 0
    while pos < len(data):
        end = data.index(b"\n", pos)
        line = data[pos:end]
        if b"=" in line:
            key, _, value = line.partition(b"=")
            pos = end + 1
        else:
            key = line
            (size,) = struct.unpack_from("<Q", data, end + 1)
            start = end + 1 + 8
            value = data[start : start + size]
            assert data[start + size : start + size + 1] == b"\n", "binary field not terminated"
            pos = start + size + 1
        entry[key.decode()] = value.decode()
    return entry


class JournalListener:
    """A real datagram socket at the journal's path; a thread drains it (libsystemd blocks when
    the queue is full) and parses each entry, from the datagram or from a passed memfd."""

    def __init__(self, path: Path) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.1)
        self.entries: list[Entry] = []
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._drain, daemon=True)
        self.thread.start()

    def _drain(self) -> None:
        while not self.stopped.is_set():
            try:
                data, fds, _flags, _addr = socket.recv_fds(self.sock, 1 << 20, 4)
            except TimeoutError:
                continue
            for fd in fds:  # too large for one datagram: the entry comes as a sealed memfd
                with os.fdopen(fd, "rb") as memfd:
                    data = memfd.read()
            self.entries.append(parse_native(data))

    def find(self, prefix: str = "", **fields: str) -> Entry | None:
        """The first entry whose MESSAGE starts with ``prefix`` and that has all ``fields``."""
        for entry in list(self.entries):
            if entry.get("MESSAGE", "").startswith(prefix):
                if all(entry.get(key) == value for key, value in fields.items()):
                    return entry
        return None

    def close(self) -> None:
        self.stopped.set()
        self.thread.join()
        self.sock.close()


def run_in_private_namespace(request: pytest.FixtureRequest) -> None:
    """Run this very test again in a private mount namespace with a tmpfs over the journal's
    directory; skip only where such a namespace cannot be made."""
    probe = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "true"], capture_output=True, text=True
    )
    if probe.returncode != 0:
        pytest.skip(
            f"{SOCKET} exists (a real journald?) and a private mount namespace to test in "
            f"cannot be made here: {probe.stderr.strip()}"
        )
    script = f'mount -t tmpfs -o mode=0755 tmpfs {JOURNAL_DIR} && exec "$@"'
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", request.node.nodeid]
    done = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", *command],
        capture_output=True,
        text=True,
        cwd=request.config.rootpath,
        env={**os.environ, PRIVATE_MARK: "1"},
        timeout=300,
    )
    assert done.returncode == 0 and "1 passed" in done.stdout, done.stdout + done.stderr


@pytest.fixture
def journal_dir(request: pytest.FixtureRequest) -> Iterator[Path | None]:
    """/run/systemd/journal with no socket in it, for this test alone; ``None`` when the test
    has already run (and passed) in a private namespace: the test then returns at once."""
    if os.environ.get(PRIVATE_MARK):  # the tmpfs on JOURNAL_DIR is this namespace's own
        assert not os.path.lexists(SOCKET), f"{SOCKET} exists inside the private namespace"
        yield from _socket_removed_after(JOURNAL_DIR)
        return
    with open(LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # held until the path is as it was, and the mount gone
        if os.path.lexists(SOCKET):
            run_in_private_namespace(request)
            yield None
            return
        created = [p for p in (JOURNAL_DIR.parent, JOURNAL_DIR) if not p.exists()]
        try:
            for path in created:
                path.mkdir(mode=0o755)
        except PermissionError as error:
            pytest.skip(f"cannot create {error.filename} to stand in for journald (not root)")
        try:
            yield from _socket_removed_after(JOURNAL_DIR)
        finally:
            for path in reversed(created):
                path.rmdir()


def _socket_removed_after(journal_dir: Path) -> Iterator[Path]:
    try:
        yield journal_dir
    finally:
        if SOCKET.is_socket():
            SOCKET.unlink()


@contextmanager
def listening() -> Iterator[JournalListener]:
    listener = JournalListener(SOCKET)
    try:
        yield listener
    finally:
        listener.close()


def run_under_systemd(code: str) -> subprocess.CompletedProcess[str]:
    """``python -c code`` in the project's root, with ``$JOURNAL_STREAM`` naming its stderr, as
    systemd sets it (the pipe's device and inode are only known inside the child)."""
    as_systemd = (
        "import os\n"
        "stream = os.fstat(2)\n"
        "os.environ['JOURNAL_STREAM'] = f'{stream.st_dev}:{stream.st_ino}'\n"
    )
    return subprocess.run(
        [sys.executable, "-c", as_systemd + code],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env=dict(os.environ),
        timeout=60,
    )


def test_converge_lines_reach_the_journal_with_run_commit_and_component(
    journal_dir: Path | None, tmp_path: Path
) -> None:
    if journal_dir is None:
        return  # ran and passed inside a private mount namespace
    repo = make_deploy_repo(tmp_path / "repo")
    with listening() as journal, run_daemon(tmp_path, repo, stderr_is_journal=True) as daemon:
        # the start-up run changed hello (a later run of the same commit would not)
        run = daemon.wait_run(outcome="succeeded", trigger="startup")
        sha = run["commit"]["sha"]
        try:
            converge = wait_for(
                lambda: journal.find("converge: hello changed (", DEPLOYD_RUN=run["id"])
            )
        except AssertionError:
            seen = [(e.get("DEPLOYD_RUN"), e.get("MESSAGE")) for e in journal.entries]
            raise AssertionError(f"not in the journal; it has: {seen}\n{daemon.output()}") from None
        finished = wait_for(lambda: journal.find(MESSAGE=f"run {run['id']}: succeeded"))
        output = daemon.output()
    assert converge["DEPLOYD_COMMIT"] == sha and converge["DEPLOYD_COMPONENT"] == "hello"
    assert converge["PRIORITY"] == "6" and converge["SYSLOG_IDENTIFIER"] == "deployd"
    assert converge["LOGGER"] == "daemon.worker"
    # The run's own line: its fields, and the place of the log call (not the handler's).
    assert finished["DEPLOYD_RUN"] == run["id"] and finished["DEPLOYD_COMMIT"] == sha
    assert "DEPLOYD_COMPONENT" not in finished
    assert finished["CODE_FILE"].endswith(os.path.join("daemon", "observe", "logs.py"))
    assert finished["CODE_FUNC"] == "log_run_outcome" and int(finished["CODE_LINE"]) > 0
    assert "run_id=" not in output and "Logging error" not in output, output


def test_journal_entries_carry_multiline_messages_and_warnings(
    journal_dir: Path | None, tmp_path: Path
) -> None:
    if journal_dir is None:
        return  # ran and passed inside a private mount namespace
    code = (
        "import logging\n"
        "from daemon.observe.logs import setup_logging\n"
        "assert setup_logging() == 'journal'\n"
        "log = logging.getLogger('daemon.test')\n"
        "log.warning('two\\nlines', extra={'run_id': 'R1', 'commit': 'c0ffee'})\n"
        "log.error('broken', extra={'component': 'nginx'})\n"
    )
    with listening() as journal:
        done = run_under_systemd(code)
        assert done.returncode == 0 and done.stderr == "", done.stderr
        warning = wait_for(lambda: journal.find(MESSAGE="two\nlines"))
        error = wait_for(lambda: journal.find(MESSAGE="broken"))
    assert warning["PRIORITY"] == "4" and warning["DEPLOYD_RUN"] == "R1"
    assert warning["DEPLOYD_COMMIT"] == "c0ffee" and "DEPLOYD_COMPONENT" not in warning
    assert error["PRIORITY"] == "3" and error["DEPLOYD_COMPONENT"] == "nginx"
    assert (
        error["CODE_FILE"] == "<string>" and error["CODE_LINE"] == "9"
    )  # 3 lines of run_under_systemd first


def test_unreachable_journal_keeps_plain_lines_on_stderr(
    journal_dir: Path | None, tmp_path: Path
) -> None:
    """journald gone, its socket left behind (connection refused): each record becomes a plain
    line on stderr, which journald reads through $JOURNAL_STREAM, not a logging traceback."""
    if journal_dir is None:
        return  # ran and passed inside a private mount namespace
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as dead:
        dead.bind(str(SOCKET))
    code = (
        "import logging\n"
        "from daemon.observe.logs import setup_logging\n"
        "assert setup_logging() == 'journal'\n"
        "logging.getLogger('daemon.test').info('still here', extra={'run_id': 'R9'})\n"
    )
    done = run_under_systemd(code)
    assert done.returncode == 0, done.stderr
    assert done.stderr == "INFO daemon.test: still here [run_id=R9]\n"


def test_without_systemd_python_the_fields_are_in_plain_lines(tmp_path: Path) -> None:
    repo = make_deploy_repo(tmp_path / "repo")
    env = {"DEPLOYD_NO_SYSTEMD_PYTHON": "1"}
    with run_daemon(tmp_path, repo, env=env, stderr_is_journal=True) as daemon:
        run = daemon.wait_run(outcome="succeeded")
        fields = f"[run_id={run['id']} commit={run['commit']['sha']} component=hello]"
        line = wait_for(lambda: next((li for li in lines(daemon.output()) if fields in li), None))
    # Under systemd no time stamp of our own: journald adds it.
    assert line.startswith("INFO daemon.worker: converge: hello changed ("), line
    assert line.endswith(fields), line


def lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if "converge:" in line]
