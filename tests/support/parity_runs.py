"""batou 2.7.1 and ``deployd apply`` on the same repository, side by side, failures included.

:mod:`tests.support.parity_helpers` fails a test when a tool fails; the library parity tests
also compare failures, and need the components each tool updated, in order (batou's ``🚀`` lines,
deployd's ``host > path`` lines), an environment of their own (a private MariaDB, apt, a cron
spool) and sometimes a wrapper around the whole command (a private mount namespace).
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.parity_helpers import batou_venv, deployd_command, snapshot
from tests.support.paths import REPO_ROOT

HOST = "localhost"
BATOU_UPDATE = f"\N{ROCKET} {HOST}: "
DEPLOYD_UPDATE = f"{HOST} > "


@dataclass(frozen=True)
class ToolRun:
    """One converge by one tool: its exit status, its output, and what it updated, in order."""

    returncode: int
    output: str
    updated: tuple[str, ...]


_SCHEDULING = re.compile(r"\N{MEDIUM WHITE CIRCLE} \S+: Scheduling component \S+ \.\.\.")


def _updated(output: str, prefix: str) -> tuple[str, ...]:
    """The component paths after ``prefix``. batou's main process prints its "Scheduling
    component" lines (and its error reports) while the deployment prints, so one may land
    inside another line: those are taken out, and batou's lines are found wherever they
    start; deployd's are whole lines. A scheduling line's own newline is kept: the line it
    interrupted may get its newline only later, and an empty line costs nothing."""
    if prefix != BATOU_UPDATE:
        return tuple(line[len(prefix) :] for line in output.splitlines() if line.startswith(prefix))
    return tuple(re.findall(re.escape(prefix) + r"([^\n]*)", _SCHEDULING.sub("", output)))


def _run(command: Sequence[str], cwd: Path, env: dict[str, str], timeout: float) -> Any:
    # One stream, so that batou's error lines (stderr) stay in order with its progress lines.
    return subprocess.run(
        list(command),
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
    )


def batou_deploy(
    repo: Path,
    environment: str,
    env: dict[str, str] | None = None,
    wrapper: Sequence[str] = (),
    timeout: float = 300,
) -> ToolRun:
    """``batou deploy ENV`` in ``repo`` (work tree: ``repo/work``), failing or not."""
    command = [*wrapper, str(batou_venv() / "bin" / "batou"), "deploy", environment]
    full_env = {**os.environ, **(env or {}), "APPENV_BASEDIR": str(repo)}
    done = _run(command, repo, full_env, timeout)
    output = done.stdout
    return ToolRun(done.returncode, output, _updated(output, BATOU_UPDATE))


def deployd_apply(
    repo: Path,
    environment: str,
    root: Path,
    state_dir: Path | None = None,
    env: dict[str, str] | None = None,
    wrapper: Sequence[str] = (),
    timeout: float = 300,
) -> ToolRun:
    """``deployd apply`` of ``repo`` (work tree: ``root/work``), failing or not."""
    command = [*wrapper, *deployd_command(repo, environment, root, state_dir)]
    done = _run(command, REPO_ROOT, {**os.environ, **(env or {})}, timeout)
    output = done.stdout
    return ToolRun(done.returncode, output, _updated(output, DEPLOYD_UPDATE))


def work_tree(work: Path, replace: dict[str, str] | None = None) -> dict[str, Any]:
    """:func:`parity_helpers.snapshot` of ``work``, with each key of ``replace`` replaced by its
    value in file contents (the absolute work paths that generated files name)."""
    tree = snapshot(work)
    for key, value in list(tree.items()):
        if isinstance(value, tuple) and len(value) == 4 and isinstance(value[3], bytes):
            content = value[3]
            for old, new in (replace or {}).items():
                content = content.replace(old.encode(), new.encode())
            tree[key] = (*value[:3], content)
    return tree


__all__ = ["ToolRun", "batou_deploy", "deployd_apply", "work_tree"]
