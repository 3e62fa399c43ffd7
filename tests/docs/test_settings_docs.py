"""docs/settings.md documents every option, and its complete example is a valid file."""

from __future__ import annotations

import re

from daemon.config.settings import OPTIONS, parse_settings
from tests.support.paths import REPO_ROOT

DOC = REPO_ROOT / "docs" / "settings.md"


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


# Required, or computed: this machine's name, STATE_DIR/inbox, needed once the webhook is on.
COMPUTED = {("", "host"), ("", "inbox"), ("webhook", "secret_file")}


def _shown(value: object) -> str:
    """A default as the docs write it: `true`, `60`, `""`, `main`."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return '""' if value == "" else str(value)


def test_defaults_agree_between_the_table_the_settings_and_the_docs() -> None:
    """OPTIONS, the Settings dataclass and docs/settings.md each write the defaults down: a
    change to one of them must be made to all three."""
    minimal = 'repository = "/srv/repo"\nenvironment = "production"\n'
    settings = parse_settings(minimal, DOC)
    sections = dict(
        re.findall(
            r"^## (?:`\[(\w+)\]`|Top-level keys)(.*?)(?=^## |\Z)", DOC.read_text(), re.M | re.S
        )
    )
    for table, options in OPTIONS.items():
        # | `key` | type | default | meaning |, but | `key` | default | limits | in [limits]
        row = (
            r"^\| `(\w+)` \| ([^|]+) \|"
            if table == "limits"
            else r"^\| `(\w+)` \| [^|]+ \| ([^|]+) \|"
        )
        rows = dict(re.findall(row, sections[table], re.M))
        values = getattr(settings, table) if table else settings
        for key, (_, default) in options.items():
            if default is None or (table, key) in COMPUTED:
                continue
            value = getattr(values, key)
            if default == "":  # "not set": None in the dataclass for paths
                assert value in ("", None), (table, key, value)
            else:
                assert _shown(value) == _shown(default), (table, key, value, default)
            assert rows[key].strip() == f"`{_shown(default)}`", (table, key, rows[key])
