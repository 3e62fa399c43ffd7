"""Daemon settings that reach the venv and the worker: wheelhouse, no_index, the debugger's
address (REMOTE_PDB_HOST/PORT of the daemon's environment) and debug_allow_remote."""

from __future__ import annotations

import socket
from pathlib import Path

from daemon_helpers import deploy_files, run_daemon
from helpers import make_repo, wait_for
from venv_helpers import build_wheels, project

from daemon.requirements import read_requirements
from daemon.venvs import venv_key

USES_THE_WHEEL = """\
from batou.component import Component
from batou.lib.file import File

import greeting


class Hello(Component):
    def configure(self):
        self += File("hello.txt", content=greeting.WORD)
"""

BREAKPOINT = """\
from batou.component import Component


class Hello(Component):
    def verify(self):
        breakpoint()
"""


def test_wheelhouse_and_no_index_reach_pip(tmp_path: Path) -> None:
    source = project(tmp_path / "greeting", "greeting", "1.0", {"greeting.py": "WORD = 'hi'\n"})
    wheels = tmp_path / "wheelhouse"
    build_wheels([source], wheels)
    files = {
        **deploy_files(),
        "requirements.txt": "greeting==1.0\n",
        "components/hello/component.py": USES_THE_WHEEL,
    }
    repo = make_repo(tmp_path / "repo", files)
    with run_daemon(tmp_path, repo, wheelhouse=str(wheels), no_index=True) as daemon:
        run = daemon.wait_run(trigger="startup", timeout=120)
        assert run["outcome"] == "succeeded", run
        assert (daemon.root / "work/hello/hello.txt").read_text() == "hi"
    requirements = read_requirements(repo)
    assert run["venv"] == venv_key(requirements, wheels, True)
    assert run["venv"] != venv_key(requirements, wheels, False)


def _breakpoint_repo(path: Path) -> Path:
    return make_repo(path, {**deploy_files(), "components/hello/component.py": BREAKPOINT})


def test_the_debugger_listens_where_the_environment_says(tmp_path: Path) -> None:
    repo = _breakpoint_repo(tmp_path / "repo")
    env = {"REMOTE_PDB_HOST": "127.0.0.1", "REMOTE_PDB_PORT": "0"}
    with run_daemon(tmp_path, repo, env=env, debug=True) as daemon:  # debug_port: 4444
        debugger = wait_for(lambda: daemon.status()["live"]["debugger"])
        assert debugger["host"] == "127.0.0.1" and debugger["port"] not in (0, 4444)
        with socket.create_connection(("127.0.0.1", debugger["port"])) as pdb:
            pdb.sendall(b"c\n")
            run = daemon.wait_run(trigger="startup")
    assert run["outcome"] == "succeeded", run


def test_a_remote_debugger_needs_debug_allow_remote(tmp_path: Path) -> None:
    repo = _breakpoint_repo(tmp_path / "repo")
    env = {"REMOTE_PDB_HOST": "0.0.0.0", "REMOTE_PDB_PORT": "0"}
    with run_daemon(tmp_path / "refused", repo, env=env, debug=True) as daemon:
        run = daemon.wait_run(trigger="startup")
        assert "REMOTE_PDB_HOST=0.0.0.0 is not a loopback address" in daemon.output()
    assert run["outcome"] == "succeeded", run
    with run_daemon(tmp_path / "allowed", repo, env=env, debug=True, debug_allow_remote=True) as d:
        debugger = wait_for(lambda: d.status()["live"]["debugger"])
        assert debugger["host"] == "0.0.0.0"
        with socket.create_connection(("127.0.0.1", debugger["port"])) as pdb:
            pdb.sendall(b"c\n")
            run = d.wait_run(trigger="startup")
    assert run["outcome"] == "succeeded", run
