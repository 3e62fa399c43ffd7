"""Find the user's file and line in a traceback, and show paths relative to the repository.

Errors point at the component code that caused them, never at runtime frames: the deepest
frame inside the deployment repository wins; failing that, the deepest frame outside this
package and outside the standard library (an extension library such as batou_ext) that runs
before any ``batou.lib`` module of the pinned batou distribution: those are library code like
the runtime, and so is everything they call (``requests`` inside ``Download``).
"""

from __future__ import annotations

import functools
import os
import sys
import sysconfig
from pathlib import Path
from types import TracebackType

from components_runtime.support.batou_library import library_prefixes

# In a venv the worker imports the runtime through a symlink (daemon.venvs.runtime_overlay),
# so frame file names are compared with symlinks resolved.
RUNTIME_DIR = str(Path(__file__).resolve().parent.parent) + os.sep
STDLIB_DIR = sysconfig.get_paths()["stdlib"] + os.sep


def relative(path: Path | str, base_dir: Path | str | None) -> str:
    """``path`` relative to ``base_dir`` when inside it, else (or without a base) unchanged."""
    if base_dir is None:
        return str(path)
    base = _resolved(str(base_dir))
    text = str(path)
    if text.startswith(base + os.sep) and "/.." not in text:  # the usual case: no stat calls
        return text[len(base) + 1 :]
    try:
        return str(Path(path).resolve().relative_to(base))
    except ValueError:
        return str(path)


@functools.lru_cache(maxsize=64)
def _resolved(base_dir: str) -> str:
    return str(Path(base_dir).resolve())


def _frames(tb: TracebackType | None) -> list[tuple[str, int]]:
    """(file, line) of each frame with a real file (not ``<frozen os>``, ``<string>``, ...)."""
    frames = []
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if not filename.startswith("<"):
            frames.append((filename, tb.tb_lineno))
        tb = tb.tb_next
    return frames


def frame_in_file(tb: TracebackType | None, filename: str) -> int | None:
    """The line of the deepest frame of ``tb`` executing ``filename``."""
    lines = [line for file, line in _frames(tb) if file == filename]
    return lines[-1] if lines else None


def is_installed_code(file: str) -> bool:
    """Python's own library, or a package installed into an environment (batou_ext in the
    venv's site-packages): not the repository's code, nor an extension installed from it with
    ``-e ./myext``, which stays where it is."""
    return (
        file.startswith(STDLIB_DIR)
        or f"{os.sep}site-packages{os.sep}" in file
        or f"{os.sep}dist-packages{os.sep}" in file
    )


def user_frame(
    tb: TracebackType | None, base_dir: Path | str | None
) -> tuple[str | None, int | None]:
    """(file relative to ``base_dir``, line) of the frame to blame, or (None, None)."""
    frames = _frames(tb)
    if base_dir is not None:
        base = str(Path(base_dir).resolve()) + os.sep
        inside = [(f, n) for f, n in frames if os.path.realpath(f).startswith(base)]
        if inside:
            file, line = inside[-1]
            return relative(file, base_dir), line
    served = library_prefixes()
    if served:
        first = next((i for i, (f, _) in enumerate(frames) if f.startswith(served)), None)
        frames = frames[:first]
    outside = [
        (f, n)
        for f, n in frames
        if not os.path.realpath(f).startswith(RUNTIME_DIR)
        and not f.startswith(STDLIB_DIR)
        and "/jinja2/" not in f
    ]
    if outside:
        return outside[-1]
    return None, None


def user_traceback_lines(tb: TracebackType | None, base_dir: Path | str | None) -> list[str]:
    """``file:line`` of every frame in the repository (a short, user-level traceback)."""
    if base_dir is None:
        return []
    base = str(Path(base_dir).resolve()) + os.sep
    lines = [
        f"{relative(f, base_dir)}:{n}"
        for f, n in _frames(tb)
        if os.path.realpath(f).startswith(base)
    ]
    return _collapse_repeats(lines)


def _library_path(filename: str) -> str | None:
    """``package/module.py`` of a frame in an installed library (relative to its ``sys.path``
    entry), or None for the runtime, the standard library, Jinja2 and unknown places."""
    real = os.path.realpath(filename)
    if real.startswith(RUNTIME_DIR) or filename.startswith(STDLIB_DIR) or "/jinja2/" in real:
        return None
    entries = [os.path.realpath(entry) + os.sep for entry in sys.path if entry]
    best = max((entry for entry in entries if real.startswith(entry)), key=len, default=None)
    return real[len(best) :] if best is not None else None


def import_chain(tb: TracebackType | None, base_dir: Path | str | None) -> list[str]:
    """``file:line`` of every frame in the repository or in an installed library (an extension
    package such as batou_ext): the way from the user's ``import`` to what failed in there."""
    base = str(Path(base_dir).resolve()) + os.sep if base_dir is not None else None
    lines = []
    for filename, number in _frames(tb):
        if base is not None and os.path.realpath(filename).startswith(base):
            lines.append(f"{relative(filename, base_dir)}:{number}")
            continue
        library = _library_path(filename)
        if library is not None:
            lines.append(f"{library}:{number}")
    return _collapse_repeats(lines)


def _collapse_repeats(lines: list[str]) -> list[str]:
    """A run of the same line (deep recursion) as the line and how often it repeats."""
    collapsed: list[str] = []
    index = 0
    while index < len(lines):
        end = index
        while end + 1 < len(lines) and lines[end + 1] == lines[index]:
            end += 1
        collapsed.append(lines[index])
        if end - index >= 2:
            collapsed.append(f"  [the line above repeated {end - index} more times]")
        elif end > index:
            collapsed.append(lines[index])
        index = end + 1
    return collapsed


__all__ = ["frame_in_file", "import_chain", "relative", "user_frame", "user_traceback_lines"]
