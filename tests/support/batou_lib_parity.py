"""batou 2.7.1 and ``deployd apply`` side by side on repositories that use ``batou.lib``.

Both tools converge their own copy of one repository that pins ``batou==2.7.1``, in rounds
(first converge, a no-op, then after the same drift of both work trees). After each round the
comparison covers the work trees (paths, bytes, modes; the two tools' base paths replaced by
``WORK``; version-control metadata and Python venv internals summarised, because they carry
timestamps and byte code) and the components each tool reported as changed, in order.

Everything runs offline: pip (batou's own venv, deployd's venv for the repository, and the pip
runs that ``VirtualEnv`` / ``AppEnv`` / ``Buildout`` make) reads a local wheelhouse that is
downloaded once into the test cache, next to the batou reference venv.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.parity_helpers import (
    BATOU_VERSION,
    batou_venv,
    deployd_command,
    downloaded_wheels,
    snapshot,
    write_repo,
)
from tests.support.paths import REPO_ROOT

# What the repositories' own pip runs install (zc.buildout 6 wants pip >= 25 in its venv;
# setuptools before 81 still has pkg_resources, which batou's Package check imports).
WHEELS = (
    f"batou=={BATOU_VERSION}",
    "zc.buildout==6.0.1",
    "setuptools==80.9.0",
    "wheel==0.48.0",
    "pip==26.3",
    "packaging==26.4",
)
PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"


def wheelhouse() -> Path:
    """Every wheel the repositories install, downloaded once (PyPI, through pip's cache)."""
    return downloaded_wheels(f"batou-lib-wheelhouse-{BATOU_VERSION}", WHEELS)


def offline_environment() -> dict[str, str]:
    """The process environment both tools run in: pip reads only the wheelhouse."""
    return {
        **os.environ,
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": str(wheelhouse()),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }


@contextlib.contextmanager
def http_server(directory: Path) -> Iterator[str]:
    """A real HTTP server for ``directory`` on 127.0.0.1; yields its base URL."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@dataclass
class Outcome:
    """One tool's run: exit status, full output, reported components, the commands it ran in
    the work tree (see :func:`command_shims`), normalised tree."""

    status: int
    output: str
    components: list[str]
    commands: list[str]
    tree: dict[str, Any] = field(default_factory=dict)


# The programs batou.lib runs. Each is shadowed by a script that logs the call and runs it.
LOGGED_PROGRAMS = (
    *("git", "hg", "svn", "tar", "unzip", "make", "dpkg", "apt-get", "rsync"),
    *("crontab", "mysql"),
)
SHIM = """#!/bin/sh
printf '%s|%s %s\\n' "$(pwd)" "$(basename "$0")" "$*" >> "$PARITY_COMMAND_LOG"
exec {real} "$@"
"""


def command_shims(directory: Path) -> Path:
    """A directory of logging stand-ins for :data:`LOGGED_PROGRAMS`, to put first on PATH."""
    directory.mkdir(parents=True, exist_ok=True)
    for program in LOGGED_PROGRAMS:
        real = shutil.which(program)
        if real is None:
            continue
        shim = directory / program
        shim.write_text(SHIM.format(real=real))
        shim.chmod(0o755)
    return directory


def _logged(log: Path, work: Path) -> list[str]:
    """The logged calls made inside ``work`` (not the tools' own, e.g. batou's git checks of
    the repository) as ``cwd|command``, with ``work`` written as ``WORK``."""
    if not log.exists():
        return []
    calls = []
    for line in log.read_text().splitlines():
        cwd, _, call = line.partition("|")
        if cwd.startswith(str(work) + "/"):
            calls.append(f"{cwd}|{call}".replace(str(work), "WORK"))
    return calls


def _run(command: list[str], cwd: Path, env: dict[str, str], log: Path) -> tuple[int, str]:
    log.unlink(missing_ok=True)
    shims = command_shims(log.parent / "shims")
    env = {**env, "PATH": f"{shims}:{env['PATH']}", "PARITY_COMMAND_LOG": str(log)}
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    return done.returncode, done.stdout + done.stderr


def _components(output: str, prefix: str, work: Path) -> list[str]:
    """The components a tool reported (``prefix`` starts its line), without the base path."""
    return [
        line[len(prefix) :].replace(str(work), "WORK")
        for line in output.splitlines()
        if line.startswith(prefix)
    ]


def run_batou(
    repo: Path,
    environment: str,
    predict: bool = False,
    env: dict[str, str] | None = None,
    wrapper: Sequence[str] = (),
) -> Outcome:
    """``batou deploy`` (``-P`` to predict); ``env`` is added to its environment and
    ``wrapper`` put before the command (a private mount namespace, say)."""
    venv, work, log = batou_venv(), repo / "work", repo.parent / "batou-commands.log"
    full_env = {**offline_environment(), **(env or {}), "APPENV_BASEDIR": str(repo)}
    command = [*wrapper, str(venv / "bin" / "batou"), "deploy", *(["-P"] if predict else []),
               environment]  # fmt: skip
    status, output = _run(command, repo, full_env, log)
    components = _components(output, "🚀 localhost: ", work)
    return Outcome(status, output, components, _logged(log, work), tree_of(work))


def run_deployd(
    repo: Path,
    environment: str,
    root: Path,
    state: Path,
    predict: bool = False,
    env: dict[str, str] | None = None,
    wrapper: Sequence[str] = (),
) -> Outcome:
    """``deployd apply``, with ``predict``, ``env`` and ``wrapper`` as for :func:`run_batou`."""
    work, log = root / "work", repo.parent / "deployd-commands.log"
    command = [*wrapper, *deployd_command(repo, environment, root, state),
               *(["--predict"] * predict)]  # fmt: skip
    status, output = _run(command, REPO_ROOT, {**offline_environment(), **(env or {})}, log)
    components = _components(output, "localhost > ", work)
    return Outcome(status, output, components, _logged(log, work), tree_of(work))


_METADATA = {".git": "git", ".hg": "hg", ".svn": "svn"}


def tree_of(work: Path) -> dict[str, Any]:
    """``parity_helpers.snapshot`` with version-control metadata and venv internals summarised
    and the work tree's own path replaced by ``WORK`` in every file."""
    if not work.exists():
        return {}
    tree: dict[str, Any] = {}
    for key, value in snapshot(work).items():
        parts = key.split("/")
        if any(part in _METADATA for part in parts[:-1]) or "__pycache__" in parts:
            continue
        if "site-packages" in parts[:-1]:
            if parts[-2] == "site-packages" and parts[-1].endswith(".dist-info"):
                tree[key] = "installed"
            continue
        if parts[-1] in _METADATA and isinstance(value, tuple) and value[-1] == "dir":
            tree[key] = _checkout_state(work / key, _METADATA[parts[-1]])
            continue
        if isinstance(value, tuple) and isinstance(value[-1], bytes):
            value = (*value[:-1], value[-1].replace(str(work).encode(), b"WORK"))
        elif key == ".batou-diffs/*":
            value = sorted(
                (mode, data.replace(str(work).encode(), b"WORK")) for mode, data in value
            )
        tree[key] = value
    return tree


_STATE_COMMANDS = {
    "git": "git rev-parse HEAD && git status --porcelain --untracked-files=all",
    "hg": "hg id -i && hg branch && hg status",
    "svn": "svn info --show-item revision && svn status",
}


def _checkout_state(metadata: Path, tool: str) -> str:
    done = subprocess.run(
        _STATE_COMMANDS[tool], shell=True, cwd=metadata.parent, capture_output=True, text=True
    )
    return done.stdout + done.stderr


@dataclass
class Pair:
    """batou's and deployd's copies of one repository, converged round by round."""

    base: Path
    files: dict[str, str | bytes]
    state: Path
    rounds: list[tuple[Outcome, Outcome]] = field(default_factory=list)
    # per tool (batou, deployd): added environment variables, words before the command
    envs: tuple[dict[str, str], dict[str, str]] = ({}, {})
    wrappers: tuple[Sequence[str], Sequence[str]] = ((), ())

    def __post_init__(self) -> None:
        files = {"requirements.txt": f"batou=={BATOU_VERSION}\n", **self.files}
        self.batou_repo = write_repo(self.base / "batou", files)
        self.deployd_repo = write_repo(self.base / "deployd", files)
        self.root = self.base / "root"

    @property
    def work_trees(self) -> tuple[Path, Path]:
        return self.batou_repo / "work", self.root / "work"

    def converge(
        self,
        environment: str = "dev",
        drift: Callable[[Path], None] | None = None,
        predict: bool = False,
    ) -> tuple[Outcome, Outcome]:
        """One round: ``drift`` (if given) changes both work trees the same way first;
        ``predict`` runs ``batou deploy -P`` and ``deployd apply --predict``."""
        if drift is not None:
            for work in self.work_trees:
                drift(work)
        pair = (
            run_batou(self.batou_repo, environment, predict, self.envs[0], self.wrappers[0]),
            run_deployd(self.deployd_repo, environment, self.root, self.state, predict,
                        self.envs[1], self.wrappers[1]),
        )  # fmt: skip
        self.rounds.append(pair)
        return pair


def differences(batou: Outcome, deployd: Outcome) -> list[str]:
    """What differs between the tools' runs: status, reported components, work trees."""
    from tests.support.parity_helpers import differences as tree_differences

    problems = []
    if (batou.status == 0) != (deployd.status == 0):
        problems.append(f"batou exit {batou.status}, deployd exit {deployd.status}")
    # Per root: batou deploys independent roots in parallel threads, so only the order within
    # one root is defined.
    if _by_root(batou.components, " > ") != _by_root(deployd.components, " > "):
        problems.append(f"components: batou {batou.components} != deployd {deployd.components}")
    if _by_root(batou.commands, "/") != _by_root(deployd.commands, "/"):
        problems.append(f"commands: batou {batou.commands} != deployd {deployd.commands}")
    problems += tree_differences(batou.tree, deployd.tree)
    if problems:
        problems.append(
            f"batou said:\n{batou.output[-3000:]}\ndeployd said:\n{deployd.output[-3000:]}"
        )
    return problems


def _by_root(lines: list[str], separator: str) -> dict[str, list[str]]:
    """Lines grouped by their root: the first breadcrumb, or the first directory of a
    ``cwd|command`` line's work path."""
    grouped: dict[str, list[str]] = {}
    for line in lines:
        head = line.split("|", 1)[0].removeprefix("WORK/") if "|" in line else line
        grouped.setdefault(head.split(separator, 1)[0], []).append(line)
    return grouped


def error_text(output: str) -> str:
    """The output with batou's and deployd's framing removed, for finding one message."""
    return re.sub(r"\s+", " ", output)


__all__ = [
    "PYTHON",
    "WHEELS",
    "Outcome",
    "Pair",
    "differences",
    "error_text",
    "http_server",
    "offline_environment",
    "run_batou",
    "run_deployd",
    "tree_of",
    "wheelhouse",
]
