"""Daemon settings that reach the venv and the worker: wheelhouse, no_index, the debugger's
address (REMOTE_PDB_HOST/PORT of the daemon's environment) and debug_allow_remote."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

from daemon.venvs.cache import venv_key
from daemon.venvs.requirements import read_requirements
from tests.support.daemon_helpers import HOST, REPO_ROOT, deploy_files, deployd_command, run_daemon
from tests.support.helpers import commit, make_repo, wait_for
from tests.support.venv_helpers import build_wheels, project

TEXT: dict[str, Any] = {"capture_output": True, "text": True, "timeout": 60}

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
    assert run["venv"] == venv_key(requirements, (wheels,), True)
    assert run["venv"] != venv_key(requirements, (wheels,), False)


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


def test_status_finds_the_socket_in_the_settings_file(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", deploy_files())
    with run_daemon(tmp_path, repo) as daemon:
        daemon.wait_run(trigger="startup")
        env = {**os.environ, "DEPLOYD_CONFIG": str(daemon.config)}
        env.pop("DEPLOYD_SOCKET", None)
        done = subprocess.run([*deployd_command(), "status", "--json"], env=env, **TEXT)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["last_run"]["trigger"] == "startup"
    broken = tmp_path / "broken.toml"
    broken.write_text("socket = \n")
    env["DEPLOYD_CONFIG"] = str(broken)
    done = subprocess.run([*deployd_command(), "status"], env=env, **TEXT)
    assert done.returncode == 2, done.stderr
    assert f"{broken}: not valid TOML" in done.stderr and "pass --socket" in done.stderr
    assert "Traceback" not in done.stderr
    broken.write_bytes(b'repository = "x"\nenvironment = "caf\xe9"\n')  # Latin-1, not UTF-8
    for command in (["status"], ["run"], ["apply", str(repo), "-e", "test"]):
        done = subprocess.run([*deployd_command(), *command], env=env, **TEXT)
        assert done.returncode == 2, (command, done.stderr)
        assert f"{broken}:2: " in done.stderr and "not UTF-8" in done.stderr, done.stderr
        assert "Traceback" not in done.stderr


def test_status_imports_nothing_heavy(tmp_path: Path) -> None:
    """`deployd status` must start fast (issue 4: < 150 ms): no worker, git, metrics or TLS."""
    config = tmp_path / "deployd.toml"
    config.write_text('repository = "/x"\nenvironment = "e"\nsocket = "/nonexistent/s.sock"\n')
    env = {**os.environ, "DEPLOYD_CONFIG": str(config)}
    command = [sys.executable, "-X", "importtime", "-m", "daemon.cli", "status"]
    done = subprocess.run(command, env=env, cwd=REPO_ROOT, **TEXT)
    assert done.returncode == 3 and "the daemon is not running" in done.stderr
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()}
    heavy = {"components_runtime.protocol", "daemon.worker.spawn", "daemon.config.settings", "git",
             "prometheus_client", "daemon.observe.exporter", "daemon.cli.render"}  # fmt: skip
    assert "httpx" in imported and not heavy & imported, heavy & imported


def test_the_client_loads_no_ca_bundle(tmp_path: Path) -> None:
    """Plain HTTP over a unix socket: building a TLS context with the CA bundle cost ~25 ms."""
    from daemon.api.client import Client

    with Client(tmp_path / "api.sock") as client:
        context = client._http._transport._pool._ssl_context  # type: ignore[attr-defined]
        assert context.cert_store_stats()["x509_ca"] == 0


SLOW = """\
import time

from batou.component import Component


class Slow(Component):
    def verify(self):
        time.sleep(60)
"""


def test_the_environment_s_deployd_section_limits_the_daemon_s_runs(tmp_path: Path) -> None:
    config = "environments/test/environment.cfg"
    section = "\n[deployd]\ncomponent_timeout = 1s\ngrace_period = 1\n"
    files = {
        config: f"[environment]\n\n[host:{HOST}]\ncomponents = slow\n{section}",
        "components/slow/component.py": SLOW,
    }
    repo = make_repo(tmp_path / "repo", files)
    with run_daemon(tmp_path, repo, poll_interval=0.2, watch_repository=False) as daemon:
        run = daemon.wait_run(trigger="startup")
        assert run["outcome"] == "timeout" and run["timed_out_component"] == "slow", run
        bad = commit(repo, {config: files[config].replace("1s", "soon")})
        refused = daemon.wait_run(commit__sha=bad)
        assert refused["outcome"] == "refused" and refused["reason"] == "bad-configuration"
        [error] = refused["errors"]
        assert error["kind"] == "LimitsError"
        expected = f"{config}:7 [deployd]: component_timeout: 'soon' is not a duration"
        assert expected in error["message"], error


PRINTS = """\
import sys

from batou.component import Component


class Hello(Component):
    def verify(self):
        print("checking the widgets")
        print("a warning on stderr", file=sys.stderr)
"""


def test_what_components_print_reaches_the_daemon_log(tmp_path: Path) -> None:
    files = {**deploy_files(), "components/hello/component.py": PRINTS}
    repo = make_repo(tmp_path / "repo", files)
    with run_daemon(tmp_path, repo) as daemon:
        run = daemon.wait_run(trigger="startup", outcome="succeeded")
        fields = f"[run_id={run['id']} commit={run['commit']['sha']}]"
        lines = daemon.output().splitlines()
        for text in ("checking the widgets", "a warning on stderr"):
            assert any(f"stderr: {text} {fields}" in line for line in lines), text


def test_a_fetch_limit_the_watchdog_cannot_wait_for_is_named(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", deploy_files())
    env = {"WATCHDOG_USEC": str(200 * 1_000_000)}  # WatchdogSec=200: two 120 s fetches don't fit
    with run_daemon(tmp_path / "tight", repo, env=env) as daemon:
        daemon.wait_run(trigger="startup")
        assert "does not fit systemd's WatchdogSec (200s)" in daemon.output()
    with run_daemon(tmp_path / "fits", repo, env=env, limits={"fetch": 60}) as daemon:
        daemon.wait_run(trigger="startup")
        assert "WatchdogSec" not in daemon.output()


def test_history_wants_a_positive_count(tmp_path: Path) -> None:
    for value in ("0", "-3", "x"):
        done = subprocess.run(
            [*deployd_command(), "history", "-n", value, "--socket", str(tmp_path / "s")], **TEXT
        )
        assert done.returncode == 2 and "expected a number of runs (1 or more)" in done.stderr
