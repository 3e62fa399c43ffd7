"""A plain file must exist (``Presence``) and the base of path-named leaves (``FileComponent``)."""

from __future__ import annotations

import os
from typing import Any

from components_runtime.errors import UpdateNeeded
from components_runtime.lib.files.paths import ensure_path_nonexistent, short_path_name, stat_field
from components_runtime.model import Component


def _file_composites() -> tuple[type, ...]:
    # File is defined later (it is built from these leaves); look it up when needed.
    from components_runtime.lib.files.composite import File

    return (File,)


class Presence(Component):
    """A regular file exists at ``path``; its content is left alone."""

    namevar = "path"
    path: str
    leading = False

    def configure(self) -> None:
        self.path = self.map(self.path)
        if self.leading:
            from components_runtime.lib.files.directories import Directory

            self += Directory(os.path.dirname(self.path), leading=self.leading)

    def verify(self) -> None:
        if os.path.isfile(self.path):
            return
        if os.path.lexists(self.path):
            raise UpdateNeeded(f"{self.path} exists but is not a regular file")
        raise UpdateNeeded(f"{self.path} is missing")

    def why_unchanged(self) -> str:
        """Why verify() passed (asked only when someone wants to know, e.g. in debug output)."""
        return f"{self.path} exists"

    def update(self) -> None:
        ensure_path_nonexistent(self.path)
        with open(self.path, "w"):
            pass  # creating it is all we want

    @property
    def namevar_for_breadcrumb(self) -> str:
        return short_path_name(self, self.path, _file_composites())

    def last_updated(self, key: str = "st_mtime", **kw: Any) -> Any:
        return stat_field(self.path, key)


class FileComponent(Component):
    """Base for leaves that manage one aspect of the file at ``path``.

    ``configure`` keeps the path as given in ``original_path`` and maps ``path``.
    """

    namevar = "path"
    path: str
    leading = False

    def configure(self) -> None:
        self.original_path = self.path
        self.path = self.map(self.original_path)

    @property
    def namevar_for_breadcrumb(self) -> str:
        return short_path_name(self, self.path, _file_composites())
