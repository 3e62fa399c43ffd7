"""docs/settings.md documents every option, and its complete example is a valid file."""

from __future__ import annotations

import re
from pathlib import Path

from daemon.settings import OPTIONS, parse_settings

DOC = Path(__file__).resolve().parent.parent / "docs" / "settings.md"


def test_every_option_is_documented() -> None:
    text = DOC.read_text()
    for table, options in OPTIONS.items():
        for key in options:
            assert f"| `{key}` |" in text, (
                f"{table or 'top level'}: {key} is not in docs/settings.md"
            )


def test_the_complete_example_parses() -> None:
    example = re.search(r"## A complete example\n\n```toml\n(.*?)```", DOC.read_text(), re.S)
    assert example
    settings = parse_settings(example.group(1), DOC)
    assert settings.environment == "production" and settings.webhook.enabled
    assert settings.limits.run == 3600.0 and settings.limits.fetch == 120.0
