"""The settings template: ``deployd.toml`` with every option commented, and filling it in.

The template (``deployd.toml`` next to this module) is the file the Debian package installs: every
option commented out, showing its default. ``deployd init`` fills in the top-level keys it knows
by replacing their commented lines, so the written file still documents every other option.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path

TEMPLATE = Path(__file__).with_name("deployd.toml")
_COMMENTED_KEY = re.compile(r"^#\s*([a-z_]+)\s*=")
_TABLE = re.compile(r"^\s*\[")

Value = str | bool | int | float


def template_text() -> str:
    return TEMPLATE.read_text()


def settings_text(values: Mapping[str, Value], template: str | None = None) -> str:
    """The template with each of ``values`` (top-level keys) set in place of its commented
    line; a key the template does not show goes just before the first table."""
    remaining = dict(values)
    lines: list[str] = []
    top_level = True
    for line in (template if template is not None else template_text()).splitlines():
        if _TABLE.match(line):
            if top_level and remaining:
                lines += [f"{key} = {toml_value(value)}" for key, value in remaining.items()]
                lines.append("")
                remaining.clear()
            top_level = False
        match = _COMMENTED_KEY.match(line) if top_level else None
        if match and match.group(1) in remaining:
            key = match.group(1)
            lines.append(f"{key} = {toml_value(remaining.pop(key))}")
            continue
        lines.append(line)
    lines += [f"{key} = {toml_value(value)}" for key, value in remaining.items()]
    return "\n".join(lines) + "\n"


def toml_value(value: Value) -> str:
    """A TOML literal: JSON's string escapes are valid TOML basic-string escapes."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(value, ensure_ascii=False)


def holds_settings(text: str) -> bool:
    """True when the file sets anything: a line that is neither blank, a comment nor a table
    header (the package's template sets nothing)."""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#") and not _TABLE.match(stripped):
            return True
    return False


__all__ = ["TEMPLATE", "holds_settings", "settings_text", "template_text", "toml_value"]
