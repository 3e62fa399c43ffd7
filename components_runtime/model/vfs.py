"""``[vfs]`` sandboxes: rewrite absolute paths so a deployment can run somewhere harmless.

* ``Developer``: every absolute path outside ``ROOT/work`` becomes ``ROOT/work/_/<path>``.
  batou uses the repository as the base (``<repo>/work/_/...``); deployd keeps its work
  directories under the deployment root (``ROOT/work/<component>``), so the sandbox lives there.
* ``Map``: ``/prefix = /replacement`` rules; the longest matching prefix wins and only its first
  occurrence is replaced. Matching is a plain string prefix, as in batou (``/srv`` also matches
  ``/srvx``), because the mapped paths must come out the same as under batou.

batou creates the mapped parent directory while mapping, i.e. during configure, so that a later
``File`` finds its directory. ``DeveloperMapper`` does the same by default (``eager=True``),
so results on disk are identical. For runs that must not touch the disk (predict, check) build
it with ``eager=False``: mapping is then pure, the needed directories are remembered, and
``ensure_directories()`` creates them right before the converge.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from components_runtime.envconfig import VfsConfig

Mapper = Callable[[str], str]


class DeveloperMapper:
    def __init__(self, deployment_root: Path, eager: bool = True) -> None:
        self.workdir_base = str(Path(deployment_root) / "work")
        self.eager = eager
        self.needed_directories: set[str] = set()

    def __call__(self, path: str) -> str:
        if not os.path.isabs(path) or self._in_workdir(path):
            return path
        mapped = os.path.join(self.workdir_base, "_", path[1:])
        parent = os.path.dirname(mapped)
        if self.eager:
            os.makedirs(parent, exist_ok=True)
        else:
            self.needed_directories.add(parent)
        return mapped

    def _in_workdir(self, path: str) -> bool:
        # A path inside ROOT/work is already sandboxed. (batou compares plain string prefixes,
        # which would also leave ROOT/workshop alone; deployd compares path components.)
        return path == self.workdir_base or path.startswith(self.workdir_base + os.sep)

    def ensure_directories(self) -> None:
        for directory in sorted(self.needed_directories):
            os.makedirs(directory, exist_ok=True)
        self.needed_directories.clear()


class MapMapper:
    def __init__(self, rules: tuple[tuple[str, str], ...]) -> None:
        # Longest prefix first; sorted() is stable, so equal lengths keep file order.
        self.rules = tuple(sorted(rules, key=lambda rule: len(rule[0]), reverse=True))

    def __call__(self, path: str) -> str:
        for prefix, replacement in self.rules:
            if path.startswith(prefix):
                return path.replace(prefix, replacement, 1)
        return path


def build_mapper(
    vfs_config: VfsConfig | None, deployment_root: Path, eager: bool = True
) -> Mapper | None:
    """The environment's path mapper, or ``None`` when there is no ``[vfs]`` section."""
    if vfs_config is None:
        return None
    if vfs_config.sandbox == "Developer":
        return DeveloperMapper(deployment_root, eager=eager)
    return MapMapper(vfs_config.rules)
