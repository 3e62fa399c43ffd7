"""Symbolic links: ``Symlink``."""

from __future__ import annotations

import os

from components_runtime.errors import ComponentUsageError, UpdateNeeded
from components_runtime.lib.files.paths import ensure_path_nonexistent
from components_runtime.model import Component


class Symlink(Component):
    """``target`` is a symlink pointing at ``source``.

    Both are mapped, so a relative ``source`` becomes an absolute path under the workdir
    (batou does the same; the link text is always absolute).
    """

    namevar = "target"
    target: str
    source: str | None = None

    def configure(self) -> None:
        if self.source is None:
            # batou fails here with a TypeError; say what is missing instead.
            raise ComponentUsageError.from_context(
                f"Symlink({self.target!r}) requires a source to point to.", self
            )
        self.target = self.map(self.target)
        self.source = self.map(self.source)

    def verify(self) -> None:
        if not os.path.islink(self.target):
            raise UpdateNeeded(f"{self.target} is not a symlink")
        current = os.readlink(self.target)
        if current != self.source:
            raise UpdateNeeded(f"{self.target} points to {current}, want {self.source}")

    def why_unchanged(self) -> str:
        return f"{self.target} already points to {self.source}"

    def update(self) -> None:
        assert self.source is not None  # checked in configure
        ensure_path_nonexistent(self.target)
        os.symlink(self.source, self.target)
