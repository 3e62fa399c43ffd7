"""Is a checkout still the commit it says it holds? A manifest of its files, made at export.

``checkouts/current`` is converged run after run; whoever edits a file in it by hand (or a
component that writes into its own source) would otherwise have that edit deployed as if it
were the commit. At export the size, mode and time of every file are written to
``.deployd-manifest``; before a run the tree is compared with it, and a tree that differs is
exported again. Byproducts of installing the repository's own packages (``__pycache__``,
``*.egg-info``, ``build/``) are not part of the comparison.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

MANIFEST = ".deployd-manifest"
_OURS = (".deployd-commit", MANIFEST)
_BYPRODUCT_DIRS = ("__pycache__", "build", ".eggs")


def _signatures(tree: Path) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for folder, dirs, files in os.walk(tree):
        dirs[:] = [d for d in dirs if d not in _BYPRODUCT_DIRS and not d.endswith(".egg-info")]
        for name in files + [d for d in dirs if os.path.islink(os.path.join(folder, d))]:
            path = os.path.join(folder, name)
            relative = os.path.relpath(path, tree)
            if relative in _OURS or name.endswith(".pyc"):
                continue
            info = os.lstat(path)
            found[relative] = [info.st_size, info.st_mtime_ns, info.st_mode]
    return found


def write_manifest(tree: Path) -> None:
    """Record the tree as exported (called before the tree is marked with its commit)."""
    (tree / MANIFEST).write_text(json.dumps(_signatures(tree), sort_keys=True))


def altered(tree: Path) -> str | None:
    """The first file that differs from the manifest (changed, missing or added), a word on a
    missing or unreadable manifest, or None when the tree is as exported."""
    try:
        recorded = json.loads((tree / MANIFEST).read_text(encoding="utf-8"))
        now = _signatures(tree)
    except (OSError, ValueError) as error:
        return f"no usable {MANIFEST} ({type(error).__name__})"
    if not isinstance(recorded, dict):
        return f"no usable {MANIFEST}"
    for path in sorted(set(recorded) | set(now)):
        if recorded.get(path) != now.get(path):
            what = "added" if path not in recorded else "missing" if path not in now else "changed"
            return f"{path} {what}"
    return None
