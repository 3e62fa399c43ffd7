"""How a repository's venv reaches deployd's runtime without installing it.

Every venv gets a directory ``VENV/deployd-runtime/`` of symlinks to exactly the top-level modules
the worker needs (``components_runtime`` and its dependencies Jinja2, MarkupSafe, PyYAML and
remote-pdb, wherever this interpreter finds them), and ``zzz-deployd-runtime.pth`` in the venv's
site-packages, which appends that directory to ``sys.path``. A ``.pth`` line is appended *after*
the venv's own site-packages, so the repository's requirements win, as batou documents.

Linking single modules rather than appending the daemon's whole site-packages keeps the daemon's
own libraries (GitPython, httpx, ...) out of component code: a component that imports a package
it did not list in ``requirements.txt`` fails in the worker as it would on a fresh host.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

RUNTIME_PTH = "zzz-deployd-runtime.pth"
OVERLAY = "deployd-runtime"
# What the worker imports from outside the venv. "_yaml" is PyYAML's optional C shim.
RUNTIME_MODULES = ("components_runtime", "jinja2", "markupsafe", "yaml", "remote_pdb")
OPTIONAL_MODULES = ("_yaml",)


def runtime_modules() -> dict[str, Path]:
    """Link name → the module's file or package directory, as this interpreter imports it."""
    found: dict[str, Path] = {}
    for name in RUNTIME_MODULES + OPTIONAL_MODULES:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin in (None, "built-in"):
            if name in OPTIONAL_MODULES:
                continue
            raise RuntimeError(f"deployd's runtime needs {name!r}, which is not installed")
        assert spec.origin is not None
        origin = Path(spec.origin).resolve()
        if spec.submodule_search_locations:
            found[name] = origin.parent
        else:
            found[origin.name] = origin
    return found


def runtime_fingerprint() -> tuple[str, ...]:
    """What the overlay points at: part of every venv key."""
    return tuple(f"{name}={target}" for name, target in sorted(runtime_modules().items()))


def install_overlay(venv: Path, site_packages: Path) -> None:
    overlay = venv / OVERLAY
    overlay.mkdir()
    for name, target in runtime_modules().items():
        os.symlink(target, overlay / name)
    (site_packages / RUNTIME_PTH).write_text(f"{overlay}\n")


def overlay_problem(venv: Path, site_packages: Path) -> str | None:
    """What is wrong with a finished venv's overlay (a link deleted or pointing elsewhere, the
    .pth file gone), or None: a venv is checked before every use, since its worker would fail
    in ways that point nowhere near the cause."""
    overlay = venv / OVERLAY
    try:
        if (site_packages / RUNTIME_PTH).read_text().strip() != str(overlay):
            return f"{RUNTIME_PTH} does not name {overlay}"
        for name, target in runtime_modules().items():
            link = overlay / name
            if not link.is_symlink() or Path(os.readlink(link)) != target or not link.exists():
                return f"{link} does not lead to {target}"
    except OSError as error:
        return f"{error.filename}: {error.strerror}"
    return None


__all__ = [
    "OVERLAY",
    "RUNTIME_PTH",
    "install_overlay",
    "overlay_problem",
    "runtime_fingerprint",
    "runtime_modules",
]
