"""The worker subprocess: spawn, time limits from its events, progress, OOM, process-group kill."""

from typing import TYPE_CHECKING

from daemon import lazy_exports

if TYPE_CHECKING:  # the export table: imported on first use (see lazy_exports)
    from daemon.worker.signals import kill_worker, stop_between_components
    from daemon.worker.spawn import WorkerRun, run_worker

__all__ = ["kill_worker", "stop_between_components", "run_worker", "WorkerRun"]

__getattr__ = lazy_exports(__name__, __file__)
