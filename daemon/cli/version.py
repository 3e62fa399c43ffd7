"""``deployd --version``: the version and the commit this deployd was built from.

A build (the Debian package, the zipapp) writes ``build-info.json`` next to this module with the
commit it was made from (``packaging/``). A git checkout has no such file: the commit is read
from git, and a checkout with uncommitted changes says so. Anything else (a plain ``pip
install`` of a source tree) knows its version only.
"""

from __future__ import annotations

import json
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

BUILD_INFO = Path(__file__).with_name("build-info.json")
# An editable install runs from the checkout itself: daemon/cli/version.py -> the top level.
CHECKOUT = Path(__file__).resolve().parents[2]


def version_text() -> str:
    """``deployd 0.1.0 (commit 0123…)``, as ``--version`` prints it."""
    try:
        number = version("deployd")
    except PackageNotFoundError:  # run from a source tree that was never installed
        number = "unknown version"
    return f"deployd {number} ({built_from()})"


def built_from() -> str:
    recorded = _recorded_build()
    if recorded is not None:
        return recorded
    from_git = _checkout_commit()
    if from_git is not None:
        return from_git
    return "commit unknown: not built from a git checkout"


def _recorded_build() -> str | None:
    try:
        info = json.loads(BUILD_INFO.read_text())
    except (OSError, ValueError):
        return None
    commit = info.get("commit") if isinstance(info, dict) else None
    if not isinstance(commit, str) or not commit:
        return None
    changes = ", with uncommitted changes" if info.get("dirty") else ""
    return f"commit {commit}{changes}"


def _checkout_commit() -> str | None:
    if not (CHECKOUT / ".git").exists() or not (CHECKOUT / "pyproject.toml").is_file():
        return None
    head = _git("rev-parse", "HEAD")
    if not head:
        return None
    changes = _git("status", "--porcelain", "--untracked-files=no")
    return f"commit {head}, checkout{' with uncommitted changes' if changes else ''}"


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(CHECKOUT), *args], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


__all__ = ["BUILD_INFO", "built_from", "version_text"]
