"""What the daemon shows: Prometheus metrics and their exporter, logs and journald, sd_notify."""

from typing import TYPE_CHECKING

from daemon import lazy_exports

if TYPE_CHECKING:  # the export table: imported on first use (see lazy_exports)
    from daemon.observe.exporter import MetricsExporter, build_registry, metrics_route
    from daemon.observe.logs import (
        log_run_outcome,
        log_worker_event,
        log_worker_stderr,
        setup_logging,
    )
    from daemon.observe.notify import Notifier, watchdog_interval

__all__ = [
    "build_registry",
    "log_run_outcome",
    "log_worker_event",
    "log_worker_stderr",
    "metrics_route",
    "MetricsExporter",
    "Notifier",
    "setup_logging",
    "watchdog_interval",
]

__getattr__ = lazy_exports(__name__, __file__)
