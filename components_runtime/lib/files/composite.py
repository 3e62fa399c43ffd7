"""``File`` and ``BinaryFile``: composites that only choose and add the leaf components."""

from __future__ import annotations

import os
from typing import Any

from components_runtime.lib.files.content import Content
from components_runtime.lib.files.directories import Directory
from components_runtime.lib.files.links import Symlink
from components_runtime.lib.files.paths import short_path_name, stat_field
from components_runtime.lib.files.permissions import Group, Mode, Owner
from components_runtime.lib.files.presence import Presence
from components_runtime.model import Component

ENSURE_CHOICES = ("file", "directory", "symlink")


class File(Component):
    """A file, directory or symlink at ``path`` with optional content, mode, owner and group.

    The order of the sub-components is batou's: presence, mode (early, so a wrong mode
    cannot lock us out of writing), content, owner, group.
    """

    namevar = "path"
    path: str
    ensure = "file"
    content: Any = None
    source = ""
    is_template = True
    template_context: Any = None
    template_args: dict[str, Any] | None = None
    encoding: str | None = "utf-8"
    owner: str | int | None = None
    group: str | int | None = None
    mode: Any = None
    link_to = ""
    leading = False
    sensitive_data: bool | None = None

    def configure(self) -> None:
        self._unmapped_path = self.path
        self.path = self.map(self.path)
        self._add_kind()
        if self.mode:
            self += Mode(self.path, mode=self.mode)
        if self.ensure == "file" and self.content is None and not self.source:
            self.source = self._implicit_source()
        if self.ensure == "file" and (self.content or self.source):
            self._add_content()
        if self.owner:
            self += Owner(self.path, owner=self.owner)
        if self.group:
            self += Group(self.path, group=self.group)

    def _add_kind(self) -> None:
        if self.ensure == "file":
            self += Presence(self.path, leading=self.leading)
        elif self.ensure == "directory":
            self += Directory(self.path, leading=self.leading, source=self.source)
        elif self.ensure == "symlink":
            self += Symlink(self.path, source=self.link_to)
        else:
            raise ValueError(
                f"Ensure must be one of: {', '.join(ENSURE_CHOICES)} not {self.ensure}"
            )

    def _implicit_source(self) -> str:
        """``File("x")`` without content renders the file ``x`` next to the root's component.py.

        A missing template is an error rather than an empty file, so that a typo is noticed.
        """
        guess: str = self.root.defdir + "/" + os.path.basename(self.path)
        if os.path.isfile(guess):
            return guess
        raise ValueError(
            f"Missing implicit template file {guess}. Or did you want to create an empty "
            f"file? Then use File('{self._unmapped_path}', content='')."
        )

    def _add_content(self) -> None:
        if self.template_args is None:
            self.template_args = {}
        if not self.template_context:
            self.template_context = self.parent
        content = Content(
            self.path,
            source=self.source,
            is_template=self.is_template,
            template_context=self.template_context,
            template_args=self.template_args,
            encoding=self.encoding,
            content=self.content,
            sensitive_data=self.sensitive_data,
        )
        self += content
        self.content = content.content

    @property
    def namevar_for_breadcrumb(self) -> str:
        return short_path_name(self, self.path)

    def last_updated(self, key: str = "st_mtime", **kw: Any) -> Any:
        return stat_field(self.path, key)


class BinaryFile(File):
    """A ``File`` whose content is bytes, copied without templating or decoding."""

    is_template = False
    encoding = None
