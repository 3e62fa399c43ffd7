"""Removing whatever matches a glob pattern: ``Purge``."""

from __future__ import annotations

import glob
import os
import shutil

from components_runtime.errors import UpdateNeeded
from components_runtime.model import Component


class Purge(Component):
    """Nothing matches the glob ``pattern``. Directories are removed with their content;
    a symlink to a directory is unlinked, its target left alone."""

    namevar = "pattern"
    pattern: str

    def configure(self) -> None:
        self.pattern = self.map(self.pattern)

    def verify(self) -> None:
        found = glob.glob(self.pattern)
        if found:
            raise UpdateNeeded(f"{len(found)} path(s) match {self.pattern}")

    def why_unchanged(self) -> str:
        return f"nothing matches {self.pattern}"

    def update(self) -> None:
        for path in glob.glob(self.pattern):
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            else:
                os.remove(path)
