"""File content: ``ManagedContentBase`` (acquire, render, compare, write) and ``Content``."""

from __future__ import annotations

import os
from typing import Any

from components_runtime.errors import TemplatingError, UpdateNeeded
from components_runtime.lib.files.diffs import DIFF_DIR_NAME, show_diff
from components_runtime.lib.files.presence import FileComponent
from components_runtime.support import annotate


class ManagedContentBase(FileComponent):
    """Writes bytes computed at configure time to ``path``; subclasses define ``render()``.

    The input comes from the attribute named by ``_content_source_attribute`` or from
    ``source`` (relative to the definition directory; by default the path as given). A source
    that does not exist yet is read again at verify time ("delayed"), because an earlier
    component may create it during the same run.
    """

    content: Any = None
    source: str = ""
    sensitive_data: bool | None = None
    encoding: str | None = "utf-8"

    _delayed = False
    _max_diff = 200
    _max_diff_lead = 50
    _content_source_attribute = "content"

    def configure(self) -> None:
        super().configure()
        self.diff_dir = os.path.join(self.environment.workdir_base, DIFF_DIR_NAME)
        own_input = getattr(self, self._content_source_attribute)
        if self.source and own_input:
            raise ValueError(
                f'Only one of either "{self._content_source_attribute}" or "source" are allowed.'
            )
        if not own_input:
            if not self.source:
                self.source = self.original_path
            if not self.source.startswith("/"):
                self.source = os.path.join(self.root.defdir, self.source)
        self._render()

    def render(self) -> None:
        """Turn ``self.content`` (text, or bytes without encoding) into the final text."""

    def _render(self) -> None:
        if self.source:
            # Text mode on purpose: like batou, line endings are normalised to "\n".
            mode = "r" if self.encoding else "rb"
            try:
                with open(self.source, mode, encoding=self.encoding) as stream:
                    self.content = stream.read()
            except FileNotFoundError:
                if self._delayed:
                    raise FileNotFoundError(f"Could not find source file {self.source}") from None
                self._delayed = True  # try again at verify time
                return
        if self.content and self.encoding and not isinstance(self.content, str):
            self.content = self.content.decode(self.encoding)
        self.render()
        if self.encoding:
            self.content = self.content.encode(self.encoding)

    def verify(self, predicting: bool = False) -> None:
        if self._delayed:
            try:
                self._render()
            except FileNotFoundError:
                if predicting:
                    raise UpdateNeeded(f"source {self.source} does not exist yet") from None
                raise
        try:
            with open(self.path, "rb") as target:
                current = target.read()
        except FileNotFoundError:
            current = b""
        except Exception:
            annotate("Unknown content - can't predict diff.")
            raise UpdateNeeded(f"cannot read {self.path}") from None
        if current == self.content:
            return
        self._explain(current)
        raise UpdateNeeded(f"content of {self.path} differs")

    def _explain(self, current: bytes) -> None:
        if not self.encoding:
            annotate("Not showing diff for binary data.", yellow=True)
            return
        if self.sensitive_data:
            annotate("Not showing diff as it contains sensitive data.", red=True)
            return
        secrets = None
        if self.sensitive_data is None:
            secrets = set(getattr(self.environment, "secret_data", ()) or ())
        show_diff(
            self.path,
            current.decode(self.encoding, errors="replace"),
            self.content.decode(self.encoding, errors="replace"),
            diff_dir=self.diff_dir,
            secrets=secrets,
            max_lines=self._max_diff,
            lead=self._max_diff_lead,
            guard=getattr(self.environment, "secret_guard", None),
        )

    def why_unchanged(self) -> str:
        return f"content of {self.path} is up to date ({len(self.content or b'')} bytes)"

    def update(self) -> None:
        with open(self.path, "wb") as target:
            target.write(self.content)


class Content(ManagedContentBase):
    """File content given as text or read from ``source``, rendered as a Jinja template.

    In the template, ``component`` is ``template_context`` (default: the parent) and the
    ``template_args`` dict is available as the single variable ``args``.
    """

    is_template = True
    template_context: Any = None
    template_args: dict[str, Any] | None = None

    def render(self) -> None:
        if not self.is_template:
            return
        if self.template_args is None:
            self.template_args = {}
        if not self.template_context:
            self.template_context = self.parent
        try:
            self.content = self.expand(self.content, self.template_context, args=self.template_args)
        except TemplatingError as error:
            if self.source and error.file is None:  # blame the template file, not configure()
                error.file, error.line = self.source, error.template_line
            raise
