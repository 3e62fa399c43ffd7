"""Directories: ``Directory`` (exists) and ``SyncDirectory`` (mirrors a source tree with rsync)."""

from __future__ import annotations

import os
from typing import Any

from components_runtime.errors import ComponentUsageError, UpdateNeeded
from components_runtime.lib.files.paths import ensure_path_nonexistent, short_path_name
from components_runtime.model import Component
from components_runtime.support import annotate

# rsync -n -v prints a fixed frame of 4 lines (header, blank, totals); more means pending work.
RSYNC_FRAME_LINES = 4


class SyncDirectory(Component):
    """The tree at ``path`` mirrors ``source`` (relative to the definition directory)."""

    namevar = "path"
    path: str
    source: str | None = None
    exclude: tuple[str, ...] | list[str] = ()
    verify_opts = "-rclnv"
    sync_opts = "--inplace -lr"

    def configure(self) -> None:
        self.path = self.map(self.path)
        if self.source is None:
            raise ComponentUsageError.from_context(
                "SyncDirectory requires a source to sync from.", self
            )
        self.source = os.path.normpath(os.path.join(self.root.defdir, self.source))

    @property
    def exclude_arg(self) -> str:
        if not self.exclude:
            return ""
        return " ".join(f"--exclude '{pattern}'" for pattern in self.exclude) + " "

    def _rsync(self, opts: str) -> str:
        # Like batou, the command line goes through self.cmd, which Jinja-expands it.
        stdout, _ = self.cmd(f"rsync {opts} {self.exclude_arg}{self.source}/ {self.path}")
        return str(stdout)

    def verify(self) -> None:
        if not os.path.isdir(self.path):
            raise UpdateNeeded(f"{self.path} is missing")
        pending = self._rsync(self.verify_opts)
        annotate("rsync result:", debug=True)
        annotate(pending, debug=True)
        if len(pending.strip().splitlines()) > RSYNC_FRAME_LINES:
            raise UpdateNeeded(f"{self.path} differs from {self.source}")

    def why_unchanged(self) -> str:
        return f"{self.path} is in sync with {self.source}"

    def update(self) -> None:
        self._rsync(self.sync_opts)

    @property
    def namevar_for_breadcrumb(self) -> str:
        return short_path_name(self, self.path, (Directory,))


class Directory(Component):
    """A directory exists at ``path``; with ``source`` its content is synced from there."""

    namevar = "path"
    path: str
    leading = False
    source: str | None = None
    exclude: tuple[str, ...] | list[str] = ()
    verify_opts: str | None = None
    sync_opts: str | None = None

    def configure(self) -> None:
        self.path = self.map(self.path)
        if not self.source:
            return
        options: dict[str, Any] = {"source": self.source, "exclude": self.exclude}
        if self.verify_opts:
            options["verify_opts"] = self.verify_opts
        if self.sync_opts:
            options["sync_opts"] = self.sync_opts
        # batou adds the sync as a sub-component, so it runs before the directory check;
        # we keep that order because results must match batou's.
        self += SyncDirectory(self.path, **options)

    def verify(self) -> None:
        if os.path.isdir(self.path):
            return
        if os.path.lexists(self.path):
            raise UpdateNeeded(f"{self.path} exists but is not a directory")
        raise UpdateNeeded(f"{self.path} is missing")

    def why_unchanged(self) -> str:
        return f"directory {self.path} exists"

    def update(self) -> None:
        ensure_path_nonexistent(self.path)
        if self.leading:
            os.makedirs(self.path)
        else:
            os.mkdir(self.path)

    def last_updated(self, key: str = "st_mtime", **kw: Any) -> Any:
        """The newest ``key`` among the files below ``path`` (0 when there are none)."""
        newest: Any = 0
        for folder, _dirs, names in os.walk(self.path):
            for name in names:
                newest = max(newest, getattr(os.stat(os.path.join(folder, name)), key))
        return newest

    @property
    def namevar_for_breadcrumb(self) -> str:
        from components_runtime.lib.files.composite import File

        return short_path_name(self, self.path, (File,))
