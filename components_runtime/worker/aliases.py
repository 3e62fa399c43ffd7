"""Make ``import batou...`` resolve to :mod:`components_runtime.batou` (re-exports only).

:func:`install` puts a finder first on ``sys.meta_path`` that answers every ``batou`` /
``batou.X`` import with the module ``components_runtime.batou.X``, and drops any ``batou``
modules already imported. It therefore wins over a real ``batou`` distribution in the venv.
A ``batou.lib.X`` the runtime does not have is loaded from the file of the batou distribution
the repository pins, if there is one (see ``components_runtime.support.batou_library``); its own
``batou`` imports come back here. ``batou.c.<dir>`` modules are put into ``sys.modules`` by the
loader itself. Installing twice is harmless.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import sys
import types
from collections.abc import Sequence

from components_runtime.support import (
    forget_batou_distribution,
    is_served_module,
    served_module_spec,
)

PREFIX = "components_runtime."
_LIB = PREFIX + "batou.lib."


class _AliasLoader:  # the loader protocol (importlib.abc is slow to import)
    def __init__(self, target: str) -> None:
        self.target = target

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        module = importlib.import_module(self.target)
        self.original_spec = module.__spec__
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        # Already executed under its real name; the import system has just stamped the
        # alias spec on it: give the module its own spec back.
        module.__spec__ = self.original_spec


class BatouAliasFinder:  # the meta path finder protocol
    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None = None,
        target: types.ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname.startswith(_LIB):
            return _served_by_real_name(fullname, path)
        if fullname != "batou" and not fullname.startswith("batou."):
            return None
        real = PREFIX + fullname
        try:
            found = importlib.util.find_spec(real)
        except ModuleNotFoundError:
            found = None
        if found is None or isinstance(found.loader, _AliasLoader):
            # Not the runtime's (an alias spec is this finder's answer for a served module's
            # real name): batou.lib.X from the pinned distribution; else (batou.c.<dir> not
            # loaded, no pin) None: ModuleNotFoundError as usual.
            return served_module_spec(fullname)
        return importlib.machinery.ModuleSpec(
            fullname,
            _AliasLoader(real),  # type: ignore[arg-type]
            is_package=found.submodule_search_locations is not None,
        )


def _served_by_real_name(
    fullname: str, path: Sequence[str] | None
) -> importlib.machinery.ModuleSpec | None:
    """``from batou.lib import git``: the import system asks for the submodule under the real
    name of the package (``components_runtime.batou.lib.git``). A module of the runtime itself
    is found as usual; a served one is the module ``batou.lib.git``, under both names."""
    if importlib.machinery.PathFinder.find_spec(fullname, path) is not None:
        return None
    alias = fullname[len(PREFIX) :]
    if served_module_spec(alias) is None:
        return None
    return importlib.machinery.ModuleSpec(fullname, _AliasLoader(alias))  # type: ignore[arg-type]


def installed() -> bool:
    return any(isinstance(finder, BatouAliasFinder) for finder in sys.meta_path)


def install() -> None:
    """Serve ``batou.*`` from deployd's runtime from now on, in this process."""
    for name in [n for n in sys.modules if n == "batou" or n.startswith("batou.")]:
        module = sys.modules[name]
        ours = getattr(module, "__name__", "").startswith(PREFIX)
        if not ours and not name.startswith("batou.c.") and not is_served_module(module):
            del sys.modules[name]  # a real batou imported earlier: forget it
    forget_batou_distribution()
    if not installed():
        sys.meta_path.insert(0, BatouAliasFinder())
    importlib.invalidate_caches()
    import batou  # noqa: F401  (the package and the names component code uses most)
    import batou.c  # noqa: F401
    import batou.component  # noqa: F401

    # The classes messages show (support.public_names finds them here by their batou names).
    import batou.environment  # noqa: F401
    import batou.host  # noqa: F401
    import batou.lib.file  # noqa: F401
    import batou.utils  # noqa: F401


__all__ = ["BatouAliasFinder", "install", "installed"]
