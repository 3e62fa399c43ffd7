"""`deployd apply --debug` end to end: the command says where to attach, a real client attaches."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

from helpers import commit
from test_debugging import BREAKS, read_until
from test_runner import repo

# Short limits from the environment itself, so that even a broken test cannot hang for long.
ENVIRONMENT = (
    "[host:localhost]\ncomponents = paused\n\n"
    "[deployd]\ndebug_timeout = 20s\nrun_timeout = 60s\ngrace_period = 1\n"
)


def test_apply_debug_prints_where_to_attach_and_continues(tmp_path: Path) -> None:
    checkout = repo(tmp_path / "repo", {"paused": BREAKS})
    commit(checkout, {"environments/test/environment.cfg": ENVIRONMENT})
    env = {**os.environ, "REMOTE_PDB_HOST": "127.0.0.1", "REMOTE_PDB_PORT": "0"}
    command = [
        sys.executable,
        "-m",
        "daemon.cli",
        "apply",
        str(checkout),
        "-e",
        "test",
        "--host",
        "localhost",
        "--root",
        str(tmp_path / "root"),
        "--state-dir",
        str(tmp_path / "state"),
        "--debug",
    ]
    apply = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        assert apply.stdout is not None
        printed: list[str] = []
        while not any("then: nc -C" in line for line in printed):
            line = apply.stdout.readline()
            assert line, f"apply ended before saying where to attach: {printed}"
            printed.append(line)
        text = "".join(printed)
        found = re.search(r"remote-pdb is waiting on 127\.0\.0\.1:(\d+)", text)
        assert found, text
        port = int(found.group(1))
        assert "breakpoint() at components/paused/component.py:7" in text
        assert f"ssh -L {port}:localhost:{port} " in text
        assert f"nc -C 127.0.0.1 {port}" in text
        with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
            read_until(connection, b"(Pdb) ")
            connection.sendall(b"p secret\r\n")
            assert b"42" in read_until(connection, b"(Pdb) ")
            connection.sendall(b"c\r\n")
        rest, errors = apply.communicate(timeout=60)
    finally:
        if apply.poll() is None:
            apply.kill()
            apply.communicate()
    assert apply.returncode == 0, rest + errors
    assert "apply:" in rest and "0 failed" in rest
