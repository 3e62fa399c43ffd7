"""Helpers for tests that run the daemon as a real subprocess.

``run_daemon(...)`` starts ``deployd run --config X`` with a temporary state dir, deployment root
and API socket, waits until the API answers, yields a :class:`Daemon`, and stops it with SIGTERM
(SIGKILL if it does not stop in time). ``make_deploy_repo`` writes a small deployment repository
whose components write files under the deployment root.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.helpers import commit, make_repo, wait_for
from tests.support.paths import REPO_ROOT

REPO_ROOT = REPO_ROOT
HOST = "testhost"

COMPONENT = """\
import os
import time

from batou.component import Component
from batou.lib.file import File


class {cls}(Component):
    def configure(self):
        self += File("{name}.txt", content=open(self.defdir + "/content.txt").read())

    def verify(self):
        # A test blocks the run while this file exists (a slow component, on demand).
        while os.path.exists(os.environ.get("DEPLOYD_TEST_BLOCK", "/nonexistent")):
            time.sleep(0.02)
"""


def deploy_files(
    content: str = "version 1", components: tuple[str, ...] = ("hello",), host: str = HOST
) -> dict[str, str]:
    files = {
        "environments/test/environment.cfg": (
            f"[environment]\n\n[host:{host}]\ncomponents =\n"
            + "".join(f"    {name}\n" for name in components)
        ),
    }
    for name in components:
        files[f"components/{name}/component.py"] = COMPONENT.format(cls=name.title(), name=name)
        files[f"components/{name}/content.txt"] = f"{name} {content}\n"
    return files


def make_deploy_repo(path: Path, content: str = "version 1", **kwargs: Any) -> Path:
    return make_repo(path, deploy_files(content, **kwargs))


def push_content(repo: Path, content: str, components: tuple[str, ...] = ("hello",)) -> str:
    files = {f"components/{n}/content.txt": f"{n} {content}\n" for n in components}
    return commit(repo, files, message=f"set {content}")


def deployd_command() -> list[str]:
    script = Path(sys.executable).parent / "deployd"
    return [str(script)] if script.exists() else [sys.executable, "-m", "daemon.cli"]


@dataclass
class Daemon:
    process: subprocess.Popen[bytes]
    config: Path
    state_dir: Path
    root: Path
    socket: Path
    log: Path
    env: dict[str, str] = field(default_factory=dict)

    def cli(self, *args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [*deployd_command(), *args, "--socket", str(self.socket)],
            capture_output=True,
            text=True,
            cwd=REPO_ROOT,
            env=self.env,
            timeout=60,
        )
        if check and done.returncode != 0:
            raise AssertionError(f"deployd {' '.join(args)}: {done.stdout}{done.stderr}")
        return done

    def cli_process(self, *args: str) -> subprocess.Popen[bytes]:
        """``deployd ARGS`` against this daemon, started and not waited for."""
        return subprocess.Popen(
            [*deployd_command(), *args, "--socket", str(self.socket)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=REPO_ROOT,
            env=self.env,
        )

    def status(self) -> dict[str, Any]:
        return dict(json.loads(self.cli("status", "--json").stdout))

    def runs(self) -> list[dict[str, Any]]:
        return list(json.loads(self.cli("history", "--json", "-n", "100").stdout)["runs"])

    def wait_run(self, timeout: float = 30.0, **fields: Any) -> dict[str, Any]:
        """The newest stored run matching ``fields`` (read from the state dir: fast)."""

        def find() -> dict[str, Any] | None:
            for path in sorted((self.state_dir / "runs").glob("*.json"), reverse=True):
                try:
                    run = json.loads(path.read_text())
                except (OSError, ValueError):
                    continue
                if all(_get(run, key) == value for key, value in fields.items()):
                    return dict(run)
            return None

        try:
            return wait_for(find, timeout=timeout)
        except AssertionError:
            # say what the daemon did instead: the runs it recorded and its log
            runs = sorted((self.state_dir / "runs").glob("*.json"))
            seen = [_run_brief(path) for path in runs[-5:]]
            raise AssertionError(
                f"no run with {fields} within {timeout}s; the last runs: {seen}\n"
                f"the daemon's log:\n{self.output()[-6000:]}"
            ) from None

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 30.0) -> int:
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(10)


def _run_brief(path: Path) -> str:
    try:
        run = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        return f"{path.name}: unreadable ({error})"
    sha = str((run.get("commit") or {}).get("sha") or "")[:7]
    return f"{run.get('id')} {run.get('trigger')} {sha} {run.get('outcome')}"


def _get(run: dict[str, Any], key: str) -> Any:
    value: Any = run
    for part in key.split("__"):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def write_config(path: Path, **settings: Any) -> Path:
    lines, tables = [], {}
    for key, value in settings.items():
        if isinstance(value, dict):
            tables[key] = value
        else:
            lines.append(f"{key} = {json.dumps(value)}")
    for table, values in tables.items():
        subs = {k: v for k, v in values.items() if isinstance(v, dict)}  # [table.sub]
        lines.append(f"[{table}]")
        lines.extend(f"{k} = {json.dumps(v)}" for k, v in values.items() if k not in subs)
        for sub, entries in subs.items():
            lines.append(f"[{table}.{sub}]")
            lines.extend(f"{json.dumps(k)} = {json.dumps(v)}" for k, v in entries.items())
    path.write_text("\n".join(lines) + "\n")
    return path


@contextmanager
def run_daemon(
    base: Path,
    repository: Path | str,
    *,
    env: dict[str, str] | None = None,
    state_dir: Path | None = None,
    may_fail: bool = False,
    stderr_is_journal: bool = False,
    **settings: Any,
) -> Iterator[Daemon]:
    """A real ``deployd run`` on ``repository`` (environment ``test``, host ``testhost``).

    ``settings`` override the config keys (e.g. ``poll_interval=0.5``, ``webhook={...}``).
    ``state_dir`` lets a test restart a daemon on the same state; ``may_fail=True`` yields
    even when the daemon exits at start-up (to test refusals); ``stderr_is_journal=True`` sets
    ``$JOURNAL_STREAM`` to the daemon's stderr, as systemd does with ``StandardError=journal``.
    The socket lives in a short private directory under /tmp (unix socket paths are limited to
    108 bytes).
    """
    base.mkdir(parents=True, exist_ok=True)
    sock_dir = Path(tempfile.mkdtemp(prefix="deployd-", dir="/tmp"))
    values: dict[str, Any] = {
        "repository": str(repository),
        "environment": "test",
        "host": HOST,
        "root": str(base / "root"),
        "state_dir": str(state_dir or base / "state"),
        "socket": str(sock_dir / "api.sock"),
        "metrics_listen": "",
        "poll_interval": 30,
        "splay": 0,
    }
    values.update(settings)
    config = write_config(base / f"deployd-{os.getpid()}-{len(os.listdir(base))}.toml", **values)
    log = config.with_suffix(".log")
    full_env = {**os.environ, **(env or {})}
    full_env.pop("NOTIFY_SOCKET", None) if "NOTIFY_SOCKET" not in (env or {}) else None
    with log.open("wb") as log_file:
        if stderr_is_journal:  # as systemd does: $JOURNAL_STREAM names the stream on stderr
            stream = os.fstat(log_file.fileno())
            full_env["JOURNAL_STREAM"] = f"{stream.st_dev}:{stream.st_ino}"
        process = subprocess.Popen(
            [*deployd_command(), "run", "--config", str(config)],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            cwd=REPO_ROOT,
            env=full_env,
        )
    daemon = Daemon(
        process=process,
        config=config,
        state_dir=Path(values["state_dir"]),
        root=Path(values["root"]),
        socket=Path(values["socket"]),
        log=log,
        env=full_env,
    )
    try:
        wait_for(lambda: daemon.socket.exists() or not daemon.alive(), timeout=30)
        if not daemon.alive() and not may_fail:
            raise AssertionError(f"the daemon did not start:\n{daemon.output()}")
        yield daemon
    finally:
        daemon.stop()
        shutil.rmtree(sock_dir, ignore_errors=True)
