"""Symbolic links: ``Symlink``."""

from __future__ import annotations

import os

from components_runtime.component import Component
from components_runtime.errors import UpdateNeeded
from components_runtime.lib.files.paths import ensure_path_nonexistent


class Symlink(Component):
    """``target`` is a symlink pointing at ``source``.

    Both are mapped, so a relative ``source`` becomes an absolute path under the workdir
    (batou does the same; the link text is always absolute).
    """

    namevar = "target"
    source: str | None = None

    def configure(self) -> None:
        self.target = self.map(self.target)
        self.source = self.map(self.source)

    def verify(self) -> None:
        if not os.path.islink(self.target):
            raise UpdateNeeded(f"{self.target} is not a symlink")
        current = os.readlink(self.target)
        if current != self.source:
            raise UpdateNeeded(f"{self.target} points to {current}, want {self.source}")

    def update(self) -> None:
        ensure_path_nonexistent(self.target)
        os.symlink(self.source, self.target)
