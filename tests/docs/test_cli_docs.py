"""Every option of every ``deployd`` command is documented: docs/cli.md (apply, check),
docs/status.md (the commands that ask the daemon), docs/settings.md (``run --config``),
docs/secrets.md (``deployd secrets`` and its sub-commands)."""

from __future__ import annotations

import argparse
import re

import pytest

from daemon.cli.main import build_parser
from tests.support.paths import REPO_ROOT

DOCS = REPO_ROOT / "docs"
PAGES = ("cli.md", "status.md", "settings.md", "daemon.md", "debugging.md", "secrets.md")


def _options(
    parser: argparse.ArgumentParser | None = None, prefix: str = ""
) -> list[tuple[str, str]]:
    """(command, option) for every command and sub-command (``secrets edit``)."""
    parser = parser or build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    found = []
    for name, command in commands.choices.items():
        full = f"{prefix}{name}"
        for action in command._actions:
            if isinstance(action, argparse._SubParsersAction):
                found += _options(command, f"{full} ")
            found += [(full, option) for option in action.option_strings if option != "-h"]
    return [(name, option) for name, option in found if option != "--help"]


@pytest.mark.parametrize(("command", "option"), _options())
def test_every_option_is_documented(command: str, option: str) -> None:
    # the option as a word of its own: `-c` must not be found inside `--config` or `-c1`
    word = re.compile(rf"(?<![\w-]){re.escape(option)}(?![\w-])")
    pages = [page for page in PAGES if word.search((DOCS / page).read_text())]
    assert pages, f"deployd {command} {option} is in none of docs/{{{','.join(PAGES)}}}"


def test_the_options_are_found() -> None:
    options = {option for _, option in _options()}
    assert {"--all-hosts", "--predict", "--oneline", "--limit", "-c", "--wait"} <= options
