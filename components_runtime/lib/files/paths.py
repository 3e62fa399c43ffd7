"""Path helpers shared by the file components: clearing a path, breadcrumb names."""

from __future__ import annotations

import os
from typing import Any


def ensure_path_nonexistent(path: str) -> None:
    """Make sure that, at some moment during this call, ``path`` did not exist.

    Whatever is there (file, directory, symlink, even a dangling one) is renamed into a fresh
    temporary directory next to it, which is then deleted. The rename is atomic, so a
    concurrent writer can never see a half-deleted tree at ``path``; if the rename fails for
    any other reason than "already gone", the error propagates.
    """
    if not os.path.lexists(path):
        return
    import tempfile  # rarely needed; keep it out of the start-up time

    parent = os.path.dirname(os.path.abspath(path))
    name = os.path.basename(os.path.normpath(path))
    with tempfile.TemporaryDirectory(dir=parent) as scratch:
        try:
            os.rename(path, os.path.join(scratch, name))
        except FileNotFoundError:
            pass  # someone else removed it first: the goal is reached


def short_path_name(component: Any, path: str, short_under: tuple[type, ...] = ()) -> str:
    """How a path-named component shows up in breadcrumbs (batou's rules).

    Inside a composite listed in ``short_under`` only the base name is shown; otherwise the
    path relative to the deployment base, or the absolute path if it lies outside it. The base
    is the directory holding ``work/`` (batou's ``base_dir``; in deployd the deployment root,
    which may differ from the repository), so breadcrumbs - which templates can print through
    ``batou_generated_header`` - read the same as batou's.
    """
    if short_under and isinstance(component.parent, short_under):
        return os.path.basename(path)
    environment = component.environment
    workdir_base = getattr(environment, "workdir_base", None)
    base = os.path.dirname(workdir_base) if workdir_base else environment.base_dir
    if base:
        prefix = base.rstrip("/") + "/"
        if path.startswith(prefix) and "/." not in path and "//" not in path:
            return path[len(prefix) :]  # the common case, without relpath's cost
        relative = os.path.relpath(path, base)
        if not relative.startswith(".."):
            return relative
    return os.path.abspath(path)


def stat_field(path: str, key: str) -> Any:
    """``os.stat(path).<key>``, or ``None`` when the path is missing."""
    if not os.path.exists(path):
        return None
    return getattr(os.stat(path), key)
