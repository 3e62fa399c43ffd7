"""Content-addressed venvs for a repository's requirements, and how the runtime reaches them."""

from typing import TYPE_CHECKING

from daemon import lazy_exports

if TYPE_CHECKING:  # the export table: imported on first use (see lazy_exports)
    from daemon.venvs.cache import InUse, VenvResult, ensure_venv, lock_in_use
    from daemon.venvs.requirements import Requirements

__all__ = ["ensure_venv", "InUse", "lock_in_use", "Requirements", "VenvResult"]

__getattr__ = lazy_exports(__name__, __file__)
