"""Running real batou 2.7.1 next to ``deployd apply`` and comparing what they leave on disk.

batou is installed once into a throwaway venv in a cache directory outside the repository
(``~/.cache/deployd-tests/batou-2.7.1``, or ``$DEPLOYD_TEST_CACHE``). It is never our
dependency: it is the reference the file library is measured against.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tests.support.made_once import filled_once
from tests.support.paths import REPO_ROOT

BATOU_VERSION = "2.7.1"
REPO_ROOT = REPO_ROOT


def cache_dir() -> Path:
    default = Path.home() / ".cache" / "deployd-tests"
    return Path(os.environ.get("DEPLOYD_TEST_CACHE", default))


def run_or_raise(
    command: Sequence[str],
    what: str,
    env: dict[str, str] | None = None,
    timeout: float | None = None,
) -> None:
    """Run ``command``; raise ``RuntimeError`` saying ``what`` could not be done, with its
    output, when it fails: the tests that need it fail rather than skip."""
    done = subprocess.run(list(command), capture_output=True, text=True, env=env, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"{what} ({' '.join(command)}):\n{done.stdout}\n{done.stderr}")


def downloaded_wheels(name: str, requirements: Sequence[str], *pip_options: str) -> Path:
    """``cache_dir()/name`` filled once with ``pip download`` of ``requirements`` (PyPI through
    pip's cache)."""

    def download(house: Path) -> None:
        run_or_raise(
            [sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check",
             *pip_options, "-d", str(house), *requirements],
            "cannot fill the wheelhouse",
        )  # fmt: skip

    return filled_once(cache_dir() / name, download)


def batou_venv() -> Path:
    """The venv holding batou 2.7.1, built on first use.

    Raises ``RuntimeError`` with pip's output when it cannot be built: the parity tests fail
    rather than skip.
    """

    def build(venv: Path) -> None:
        base_python = getattr(sys, "_base_executable", sys.executable)
        what = "cannot build the batou reference venv"
        run_or_raise([base_python, "-m", "venv", str(venv)], what)
        run_or_raise([str(venv / "bin" / "pip"), "install", "-q", f"batou=={BATOU_VERSION}"], what)

    return filled_once(cache_dir() / f"batou-{BATOU_VERSION}", build)


def write_repo(path: Path, files: dict[str, str | bytes]) -> Path:
    """A batou deployment repository (local connect, migrations up to date) from ``files``."""
    for rel, content in files.items():
        target = path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)
    (path / ".batou.json").write_text('{"migration": {"version": 2400}}\n')
    return path


def run_batou(venv: Path, repo: Path, environment: str) -> str:
    """``batou deploy`` in ``repo``; its work tree is ``repo/work``. Returns the output."""
    env = {**os.environ, "APPENV_BASEDIR": str(repo)}
    done = subprocess.run(
        [str(venv / "bin" / "batou"), "deploy", environment],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise AssertionError(f"batou deploy failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def deployd_command(
    repo: Path, environment: str, root: Path, state_dir: Path | None = None
) -> list[str]:
    """The ``deployd apply`` command line. Its state directory (run lock, venvs) defaults to
    ``<root>.state`` next to the root, so parallel test runs never share a lock."""
    state_dir = state_dir or root.with_name(root.name + ".state")
    return [
        sys.executable,
        "-m",
        "daemon.cli",
        "apply",
        str(repo),
        "-e",
        environment,
        "--host",
        "localhost",
        "--root",
        str(root),
        "--state-dir",
        str(state_dir),
    ]


def run_deployd(repo: Path, environment: str, root: Path) -> str:
    """``deployd apply``; its work tree is ``root/work``. Returns the output."""
    done = subprocess.run(
        deployd_command(repo, environment, root),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise AssertionError(f"deployd apply failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout + done.stderr


DIFF_DIR = ".batou-diffs"


def snapshot(work: Path) -> dict[str, Any]:
    """Everything that must be identical about a work tree, with the base path taken out.

    Files map to ``(mode, uid, gid, bytes)``, directories to ``(mode, uid, gid, "dir")``,
    symlinks to ``("link", target)``, sockets to ``("socket", mode)``; an absolute target
    under ``work`` reads ``WORK/...``. The diff
    logs under ``.batou-diffs`` have random names, so they are compared as a sorted list.
    """
    tree: dict[str, Any] = {}
    diffs: list[tuple[int, bytes]] = []
    for folder, dirs, files in os.walk(work):
        for name in sorted(dirs + files):
            path = Path(folder, name)
            rel = str(path.relative_to(work))
            info = path.lstat()
            if rel.startswith(DIFF_DIR + "/"):
                diffs.append((stat.S_IMODE(info.st_mode), path.read_bytes()))
            elif stat.S_ISLNK(info.st_mode):
                target = os.readlink(path)
                if target.startswith(str(work)):
                    target = "WORK" + target[len(str(work)) :]
                tree[rel] = ("link", target)
            elif stat.S_ISSOCK(info.st_mode):  # e.g. supervisord's control socket
                tree[rel] = ("socket", stat.S_IMODE(info.st_mode))
            elif stat.S_ISDIR(info.st_mode):
                tree[rel] = (stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid, "dir")
            else:
                mode = stat.S_IMODE(info.st_mode)
                tree[rel] = (mode, info.st_uid, info.st_gid, path.read_bytes())
    tree[DIFF_DIR + "/*"] = sorted(diffs)
    return tree


def differences(expected: dict[str, Any], actual: dict[str, Any]) -> list[str]:
    """Human-readable list of what differs between two snapshots (empty when identical)."""
    problems = []
    for key in sorted(set(expected) | set(actual)):
        if key not in actual:
            problems.append(f"missing in deployd: {key}")
        elif key not in expected:
            problems.append(f"only in deployd: {key} = {actual[key]!r:.200}")
        elif expected[key] != actual[key]:
            problems.append(f"{key}: batou {expected[key]!r:.300} != deployd {actual[key]!r:.300}")
    return problems
