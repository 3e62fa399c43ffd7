"""The one owner of state: lifecycle, pure transitions, poll schedule, the run in flight."""

from typing import TYPE_CHECKING

from daemon import lazy_exports

if TYPE_CHECKING:  # the export table: imported on first use (see lazy_exports)
    from daemon.loop.messages import Control, Trigger
    from daemon.loop.owner import Loop

__all__ = ["Control", "Loop", "Trigger"]

__getattr__ = lazy_exports(__name__, __file__)
