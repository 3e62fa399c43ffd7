"""Structured content: ``JSONContent`` and ``YAMLContent`` (data or source, plus overrides)."""

from __future__ import annotations

import json
from typing import Any

from components_runtime.lib.files.content import ManagedContentBase
from components_runtime.support import dict_merge


class JSONContent(ManagedContentBase):
    """Writes ``data`` (or the parsed ``source``) merged with ``override`` as JSON.

    Keys are sorted; ``human_readable`` selects a 4-space indent over compact separators.
    Both forms stay available as ``content_readable`` and ``content_compact``.
    """

    data: Any = None
    override: dict[str, Any] | None = None
    human_readable = True
    content_compact: str | None = None
    content_readable: str | None = None
    _content_source_attribute = "data"

    def render(self) -> None:
        if self.content:
            self.data = json.loads(self.content)
        if self.override:
            self.data = dict_merge(self.data, self.override)
        self.content_compact = json.dumps(self.data, sort_keys=True, separators=(",", ":"))
        self.content_readable = json.dumps(self.data, sort_keys=True, indent=4)
        self.content = self.content_readable if self.human_readable else self.content_compact


class YAMLContent(ManagedContentBase):
    """Writes ``data`` (or the parsed ``source``) merged with ``override`` as YAML."""

    data: Any = None
    override: dict[str, Any] | None = None
    _content_source_attribute = "data"

    def render(self) -> None:
        import yaml  # only repositories that use YAMLContent pay for importing PyYAML

        if self.content:
            self.data = yaml.safe_load(self.content)
        if self.override:
            self.data = dict_merge(self.data, self.override)
        self.content = yaml.safe_dump(self.data)
