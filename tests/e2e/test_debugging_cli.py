"""`deployd apply --debug` end to end: the command says where to attach, a real client attaches."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import textwrap
from pathlib import Path

from tests.support.debug_client import BREAKS, read_until
from tests.support.helpers import commit
from tests.support.parity_helpers import deployd_command
from tests.support.paths import REPO_ROOT
from tests.support.worker_repos import repo

# Short limits from the environment itself, so that even a broken test cannot hang for long.
ENVIRONMENT = (
    "[host:localhost]\ncomponents = paused\n\n"
    "[deployd]\ndebug_timeout = 20s\nrun_timeout = 60s\ngrace_period = 1\n"
)


def apply_command(checkout: Path, tmp_path: Path, *extra: str) -> list[str]:
    return [*deployd_command(checkout, "test", tmp_path / "root", tmp_path / "state"), *extra]


def attach_and_continue(command: list[str], env: dict[str, str], listens: str) -> str:
    """Run ``command``; when it says where remote-pdb waits, attach over 127.0.0.1, print a
    variable, continue; return the rest of its output (the command must exit 0)."""
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
        found = re.search(rf"remote-pdb is waiting on {re.escape(listens)}:(\d+)", text)
        assert found, text
        port = int(found.group(1))
        assert "breakpoint() at components/paused/component.py:7" in text
        assert f"ssh -L {port}:localhost:{port} " in text
        assert f"nc -C {listens} {port}" in text
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
    return rest


def test_apply_debug_prints_where_to_attach_and_continues(tmp_path: Path) -> None:
    checkout = repo(tmp_path / "repo", {"paused": BREAKS})
    commit(checkout, {"environments/test/environment.cfg": ENVIRONMENT})
    env = {**os.environ, "REMOTE_PDB_HOST": "127.0.0.1", "REMOTE_PDB_PORT": "0"}
    rest = attach_and_continue(apply_command(checkout, tmp_path, "--debug"), env, "127.0.0.1")
    assert "apply:" in rest and "0 failed" in rest


def test_apply_debug_refuses_a_remote_debugger_unless_allowed(tmp_path: Path) -> None:
    checkout = repo(tmp_path / "repo", {"paused": BREAKS})
    commit(checkout, {"environments/test/environment.cfg": ENVIRONMENT})
    env = {**os.environ, "REMOTE_PDB_HOST": "0.0.0.0", "REMOTE_PDB_PORT": "0"}
    refused = subprocess.run(
        apply_command(checkout, tmp_path, "--debug"), capture_output=True, text=True, env=env
    )
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert refused.stderr.startswith(
        "deployd: REMOTE_PDB_HOST=0.0.0.0 is not a loopback address: refused"
    )
    assert "--debug-allow-remote" in refused.stderr
    assert not (tmp_path / "root").exists()  # refused before anything ran
    page = (REPO_ROOT / "docs/debugging.md").read_text()
    shown = page.split("0.0.0.0 deployd apply", 1)[1].split("\n", 1)[1].split("```", 1)[0]
    assert textwrap.dedent(shown) == refused.stderr

    command = apply_command(checkout, tmp_path, "--debug", "--debug-allow-remote")
    rest = attach_and_continue(command, env, "0.0.0.0")
    assert "apply:" in rest and "0 failed" in rest


def test_remote_pdb_variables_do_not_matter_without_debug(tmp_path: Path) -> None:
    checkout = repo(tmp_path / "repo", {"paused": BREAKS})
    env = {**os.environ, "REMOTE_PDB_HOST": "0.0.0.0", "REMOTE_PDB_PORT": "not-a-port"}
    done = subprocess.run(
        apply_command(checkout, tmp_path), capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "skipped: not in debug mode" in done.stdout
    bad_port = subprocess.run(
        apply_command(checkout, tmp_path, "--debug"), capture_output=True, text=True, env=env
    )
    assert bad_port.returncode == 2
    assert bad_port.stderr == "deployd: REMOTE_PDB_PORT='not-a-port' is not a port number\n"
