"""``deployd --version``: the version and the commit, from a build's record or from git."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from daemon.cli import version
from tests.support.helpers import git
from tests.support.paths import REPO_ROOT


def test_a_checkout_reports_its_head_commit() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "daemon.cli", "--version"],
        capture_output=True, text=True, cwd=REPO_ROOT, check=True,
    )  # fmt: skip
    head = git("rev-parse", "HEAD", cwd=REPO_ROOT)
    assert done.stdout.startswith("deployd 0.1.0 (commit ")
    assert f"commit {head}, checkout" in done.stdout


def test_a_build_reports_the_commit_it_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    info = tmp_path / "build-info.json"
    info.write_text(json.dumps({"commit": "0123456789abcdef" * 2 + "01234567", "dirty": False}))
    monkeypatch.setattr(version, "BUILD_INFO", info)
    assert version.built_from() == "commit " + "0123456789abcdef" * 2 + "01234567"
    info.write_text(json.dumps({"commit": "feed", "dirty": True}))
    assert version.built_from() == "commit feed, with uncommitted changes"


def test_neither_a_build_nor_a_checkout_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(version, "BUILD_INFO", tmp_path / "missing.json")
    monkeypatch.setattr(version, "CHECKOUT", tmp_path)
    assert version.built_from() == "commit unknown: not built from a git checkout"
