"""The composition root: ``deployd run`` builds every part and runs the loop until SIGTERM.

Order matters: the API answers before systemd hears ``READY=1``; on SIGTERM the loop lets the
running component finish (``shutdown_grace``), then the API and the watchers stop.
"""

from __future__ import annotations

import logging
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import Any

from daemon.api import ApiError, ApiServer
from daemon.config import Settings, SettingsError, load_settings
from daemon.loop import Loop
from daemon.observe import Notifier, setup_logging, watchdog_interval
from daemon.records import status_line
from daemon.state import LockBusy, StateError, StateStore, host_lock
from daemon.triggers import WebhookError, WebhookServer, start_watchers

log = logging.getLogger(__name__)


def main(config: Path) -> int:
    try:
        settings = load_settings(config)
    except SettingsError as error:
        print(f"deployd: {error}", file=sys.stderr)
        return 2
    sink = setup_logging(settings.debug)
    try:
        with host_lock(settings.state_dir, who="deployd run", name="daemon.lock"):
            return serve(settings, sink)
    except (ApiError, StateError, WebhookError, LockBusy) as error:
        log.error("%s", error)
        print(f"deployd: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # e.g. a state dir we may not write: name the path, no traceback
        message = f"{error.filename or ''}: {error.strerror or error}".lstrip(": ")
        log.error("start-up failed: %s", message)
        print(f"deployd: start-up failed: {message}", file=sys.stderr)
        return 2


def serve(settings: Settings, sink: str = "plain") -> int:
    _check_watchdog(settings)
    store = StateStore(settings.state_dir, keep_runs=settings.keep_runs)
    store.ensure()
    notifier = Notifier()
    loop = Loop(settings, store, notifier)
    extra, registry_stop = _metrics(settings, loop)
    api = ApiServer(
        loop,
        settings.socket,
        settings.socket_group,
        extra_routes=extra,
        control_group=settings.control_group,
    ).start()
    stoppers: list[Any] = [api.stop, registry_stop]
    try:
        if settings.webhook.enabled:
            stoppers.append(WebhookServer(settings.webhook, loop.queue).start().stop)
        stoppers.extend(w.stop for w in start_watchers(settings, loop.queue))

        def on_signal(signum: int, frame: FrameType | None) -> None:
            loop.request_stop(wake=False)

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        log.info(
            "deployd: %s, %s branch %s, environment %s, host %s; API on %s (logs: %s, notify: %s)",
            settings.source,
            loop.snapshot.repository,
            settings.branch,
            settings.environment,
            settings.host_name,
            settings.socket,
            sink,
            notifier.backend,
        )
        loop.run_forever(on_ready=lambda: notifier.ready(status_line(loop.snapshot)))
    finally:
        for stop in reversed(stoppers):
            if stop:
                stop()
    log.info("deployd: stopped")
    return 0


def _check_watchdog(settings: Settings) -> None:
    """A tick may block the loop for one poll: two git commands (ls-remote, fetch), each up to
    the fetch limit, plus the second of polls a tick allows before it stops polling (see
    ``daemon.loop.owner``). systemd's watchdog must allow that, or a slow git server gets the daemon
    killed."""
    interval = watchdog_interval()  # half of WatchdogSec
    if interval and 2 * settings.limits.fetch + 2.0 >= 2 * interval:
        log.warning(
            "the fetch time limit (%gs, twice per poll) does not fit systemd's WatchdogSec "
            "(%gs), which must be more than twice the limit plus 2s: a slow git server would "
            "get the daemon restarted; raise WatchdogSec or lower [limits] fetch",
            settings.limits.fetch,
            2 * interval,
        )


def _metrics(settings: Settings, loop: Loop) -> tuple[dict[Any, Any], Any]:
    """The Prometheus routes and listener (daemon.observe.exporter), when that module is present."""
    try:
        from daemon.observe import MetricsExporter, build_registry, metrics_route
    except ImportError:
        return {}, None
    registry = build_registry(
        lambda: loop.snapshot,
        # what this host really waits between scheduled converges: its splay share included
        converge_interval=loop.converge_delay(),
        poll_interval=settings.poll_interval,
    )
    try:
        exporter = MetricsExporter.start(settings.metrics_listen, registry)
    except Exception as error:  # ExporterError: the address is bad or taken
        raise ApiError(f"metrics_listen: {error}") from error
    return {("GET", "/metrics"): metrics_route(registry)}, (exporter.stop if exporter else None)
