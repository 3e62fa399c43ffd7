"""The settings template: the Debian package's conffile and what ``deployd init`` fills in."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from daemon.config import holds_settings, settings_text, template_text
from daemon.config.settings import OPTIONS, parse_settings


def test_the_template_shows_every_option_commented_in_its_table() -> None:
    shown: dict[str, set[str]] = {table: set() for table in OPTIONS}
    table = ""
    for line in template_text().splitlines():
        header = re.match(r"^\[(\w+)\]", line)
        if header:
            table = header.group(1)
        key = re.match(r"^# (\w+) = ", line)
        if key:
            shown[table].add(key.group(1))
    assert {t: set(keys) for t, keys in OPTIONS.items()} == shown


def test_the_template_sets_nothing() -> None:
    assert tomllib.loads(template_text()) == {
        "limits": {},
        "webhook": {},
        "rollout": {},
        "trust": {},
    }
    assert not holds_settings(template_text())


def test_filled_in_keys_replace_their_commented_lines() -> None:
    values = {"repository": 'https://git.example.com/a "b".git', "environment": "prod"}
    text = settings_text({**values, "host": "web1", "splay": 0})
    settings = parse_settings(text, Path("deployd.toml"))
    assert (settings.repository, settings.environment) == tuple(values.values())
    assert (settings.host, settings.splay) == ("web1", 0.0)
    assert "# repository = " not in text and "# branch = " in text, "the rest stays documented"
    assert text.index("splay = 0") < text.index("[limits]")
    assert holds_settings(text)
