"""The ``batou.lib`` modules deployd does not write itself, taken from the pinned batou.

deployd implements batou's component API (``batou.component``, ``batou.utils``,
``batou.lib.file``, ...) in its own runtime. The rest of ``batou.lib`` (``archive``,
``download``, ``git``, ``buildout``, ``supervisor``, ...) is plain component code written on
top of that API. When a repository pins batou in its ``requirements.txt``, the venv holds
batou's distribution, and :func:`served_module_spec` loads ``batou.lib.<name>`` from that
distribution's own file. Its imports (``from batou.component import Component``) go through the
alias finder like any component file's, so they reach deployd's runtime: the module runs on our
API, with the pinned version's behaviour. batou's ``__init__`` is never executed.

Frames of these files count as library code, not the user's: :func:`library_prefixes` is what
``calling_site`` and ``user_frame`` skip, so an error inside ``Download`` points at the user's
``self += Download(...)``.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import sys
import types

# The modules of batou 2.7.1's batou.lib (file is deployd's own); used for hints only.
BATOU_LIB_MODULES = frozenset(
    {
        "appenv", "archive", "buildout", "cmmi", "cron", "debian", "download", "file", "git",
        "goceptnet", "logrotate", "mercurial", "mysql", "nagios", "package", "python",
        "service", "supervisor", "svn",
    }
)  # fmt: skip
PIN = "batou==2.7.1"

_UNKNOWN: str | None = ""  # sentinel: not looked up yet
_package_dir: str | None = _UNKNOWN
_library_prefixes: tuple[str, ...] = ()


# Imported at the top of a served module but used only when a component updates: importing
# them lazily keeps loading a repository cheap (``requests`` alone costs 70-140 ms).
DEFERRED_IMPORTS = ("requests",)


class ServedModuleLoader(importlib.machinery.SourceFileLoader):
    """Loads one ``batou.lib`` file of the pinned distribution (the standard source loader, and
    a marker class for :func:`is_served_module`)."""

    def exec_module(self, module: types.ModuleType) -> None:
        for name in DEFERRED_IMPORTS:
            _import_lazily(name)
        super().exec_module(module)


def _import_lazily(name: str) -> None:
    """Put a stand-in for ``name`` into ``sys.modules`` that imports the real module on first
    attribute use. (importlib's ``LazyLoader`` does not help here: before Python 3.12 a second
    ``import name`` reads ``__spec__`` and so loads it at once.)"""
    spec = None if name in sys.modules else importlib.util.find_spec(name)
    if spec is None:
        return  # loaded already, or not installed: the served module's import fails as usual
    stand_in = _Deferred(name)
    stand_in.__spec__ = spec  # importlib.util.find_spec(name) keeps working meanwhile
    sys.modules[name] = stand_in


class _Deferred(types.ModuleType):
    """A module imported on first use: then it takes the real module's place in ``sys.modules``
    and copies its namespace, so names bound to the stand-in keep working."""

    def __getattr__(self, attribute: str) -> object:
        if sys.modules.get(self.__name__) is self:
            del sys.modules[self.__name__]
        real = importlib.import_module(self.__name__)
        self.__dict__.update(real.__dict__)
        return getattr(real, attribute)


def batou_package_dir() -> str | None:
    """The directory of the batou distribution's ``batou`` package on ``sys.path``, or None.

    Found by the path finder alone (the alias finder answers ``import batou``), so nothing of
    batou is executed. Looked up once per process; :func:`forget_batou_distribution` looks again."""
    global _package_dir
    if _package_dir == _UNKNOWN:
        spec = importlib.machinery.PathFinder.find_spec("batou", sys.path)
        locations = list(spec.submodule_search_locations or []) if spec else []
        _package_dir = locations[0] if locations else None
    return _package_dir


def forget_batou_distribution() -> None:
    """Look for the distribution again at the next import (``sys.path`` may have changed)."""
    global _package_dir
    _package_dir = _UNKNOWN


def served_module_spec(fullname: str) -> importlib.machinery.ModuleSpec | None:
    """The spec for ``batou.lib.<name>`` from the pinned distribution, or None when there is
    no such file (or no distribution): the import then fails as usual."""
    parts = fullname.split(".")
    if len(parts) != 3 or parts[:2] != ["batou", "lib"] or not parts[2].isidentifier():
        return None
    directory = batou_package_dir()
    if directory is None:
        return None
    path = os.path.join(directory, "lib", parts[2] + ".py")
    if not os.path.isfile(path):
        return None
    _add_library_prefix(os.path.dirname(path) + os.sep)
    # From a file location, so the module has __file__ (appenv hashes its own source with it).
    return importlib.util.spec_from_file_location(
        fullname, path, loader=ServedModuleLoader(fullname, path)
    )


def is_served_module(module: types.ModuleType) -> bool:
    spec = getattr(module, "__spec__", None)
    return isinstance(getattr(spec, "loader", None), ServedModuleLoader)


def _add_library_prefix(prefix: str) -> None:
    global _library_prefixes
    found = {prefix, os.path.realpath(prefix) + os.sep}
    _library_prefixes = tuple(sorted(set(_library_prefixes) | found))


def library_prefixes() -> tuple[str, ...]:
    """Path prefixes of the served batou files loaded so far (as given and resolved)."""
    return _library_prefixes


def missing_batou_module_hint(fullname: str) -> str | None:
    """What to do when ``import batou.lib.<name>`` failed, or None for other modules."""
    parts = fullname.split(".")
    if len(parts) != 3 or parts[:2] != ["batou", "lib"]:
        return None
    if batou_package_dir() is None:
        if parts[2] not in BATOU_LIB_MODULES:
            return None
        return (
            f"deployd loads {fullname} from the batou distribution the repository pins: add "
            f"'{PIN}' to requirements.txt (deployd's own runtime still provides batou's "
            "component API)"
        )
    return f"the batou distribution installed from requirements.txt has no {fullname}"


__all__ = [
    "BATOU_LIB_MODULES",
    "DEFERRED_IMPORTS",
    "PIN",
    "ServedModuleLoader",
    "batou_package_dir",
    "forget_batou_distribution",
    "is_served_module",
    "library_prefixes",
    "missing_batou_module_hint",
    "served_module_spec",
]
