"""Helpers every test may use: real git repositories, waiting without sleeps."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import TypeVar

T = TypeVar("T")

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test Author",
    "GIT_AUTHOR_EMAIL": "author@example.invalid",
    "GIT_COMMITTER_NAME": "Test Author",
    "GIT_COMMITTER_EMAIL": "author@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(*args: str, cwd: Path | str) -> str:
    env = {**os.environ, **GIT_ENV}
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True
    )
    return done.stdout.strip()


def write_tree(base: Path, files: dict[str, str]) -> None:
    for rel, content in files.items():
        path = base / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)


def make_repo(path: Path, files: dict[str, str], branch: str = "main") -> Path:
    """A git repository with one commit holding ``files``."""
    path.mkdir(parents=True, exist_ok=True)
    git("init", "-q", "-b", branch, cwd=path)
    write_tree(path, files)
    git("add", "-A", cwd=path)
    git("commit", "-q", "-m", "initial", cwd=path)
    return path


def commit(repo: Path, files: dict[str, str], message: str = "change") -> str:
    write_tree(repo, files)
    git("add", "-A", cwd=repo)
    git("commit", "-q", "-m", message, cwd=repo)
    return git("rev-parse", "HEAD", cwd=repo)


def wait_for(predicate: Callable[[], T], timeout: float = 30.0, interval: float = 0.02) -> T:
    """Return the first truthy value of ``predicate()``; fail after ``timeout`` seconds.

    The default is generous on purpose: the suite must pass beside a second suite and a CPU
    hog on two cores, and a condition met early costs no more than it did."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s: {predicate}")
        time.sleep(interval)


def import_as_installed(tmp_path: Path, name: str, source: str) -> ModuleType:
    """Module ``name`` made of ``source`` and imported from a venv's site-packages under
    ``tmp_path``, where an installed package such as batou_ext lives."""
    path = tmp_path / "venv" / "lib" / "python3.11" / "site-packages" / f"{name}.py"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
