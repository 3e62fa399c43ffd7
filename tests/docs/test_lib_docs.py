"""The examples of docs/file-library.md run: the repository they form is converged with
``deployd apply`` and every ``console`` block's commands print what the page says."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.support.parity_helpers import REPO_ROOT, run_deployd

PAGE = REPO_ROOT / "docs" / "file-library.md"
FILE_BLOCK = re.compile(r"^```\w+ file=(\S+)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
CONSOLE_BLOCK = re.compile(r"^```console\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def sessions(text: str) -> list[tuple[str, str]]:
    """``(command, expected output)`` pairs from the console blocks."""
    pairs = []
    for block in CONSOLE_BLOCK.findall(text):
        for chunk in re.split(r"^\$ ", block, flags=re.MULTILINE)[1:]:
            command, _, expected = chunk.partition("\n")
            pairs.append((command, expected))
    return pairs


@pytest.fixture(scope="module")
def converged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("docs")
    repo = base / "repo"
    for name, content in FILE_BLOCK.findall(PAGE.read_text()):
        target = repo / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
    root = base / "root"
    run_deployd(repo, "docs", root)
    return root


def test_the_page_has_examples_for_every_class() -> None:
    text = PAGE.read_text()
    code = "\n".join(content for _, content in FILE_BLOCK.findall(text))
    for name in (
        "File(", "BinaryFile(", "Directory(", "JSONContent(", "YAMLContent(",
        "ManagedContentBase", "Mode(", "Symlink(", "Purge(",
    ):  # fmt: skip
        assert name in code, name
    assert len(sessions(text)) >= 15


@pytest.mark.parametrize("command, expected", sessions(PAGE.read_text()))
def test_console_example(converged: Path, command: str, expected: str) -> None:
    done = subprocess.run(
        ["bash", "-c", command],
        cwd=converged,
        env={**os.environ, "LC_ALL": "C"},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == expected
