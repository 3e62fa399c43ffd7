"""Serving deployd's metrics: a TCP ``/metrics`` listener and the API socket's ``/metrics`` route.

The TCP listener is prometheus-client's WSGI app in a threaded server, run in its own daemon
thread so a slow scrape never blocks the loop; it stops within a tenth of a second. It binds
where the ``metrics_listen`` setting says (default ``127.0.0.1:9477``; ``""`` turns it off).
Both the listener and the API route serve one :class:`~prometheus_client.CollectorRegistry`
built by :func:`build_registry`, whose collector computes every value at scrape time
(:mod:`daemon.observe.metrics`).
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, ProcessCollector, make_wsgi_app
from prometheus_client.exposition import choose_encoder

from daemon.config import parse_listen
from daemon.observe.metrics import DeploydCollector, SnapshotProvider

log = logging.getLogger(__name__)

Route = Callable[[str], tuple[int, str, bytes]]


class ExporterError(Exception):
    """The metrics listener cannot start: bad address, or the port is taken."""


def build_registry(
    snapshot: SnapshotProvider,
    converge_interval: float,
    poll_interval: float,
    process: bool = True,
) -> CollectorRegistry:
    """One registry for both endpoints: deployd's collector (plus ``process_*`` metrics)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DeploydCollector(snapshot, converge_interval, poll_interval))
    if process:
        ProcessCollector(registry=registry)
    return registry


def render(registry: CollectorRegistry, accept: str | None = None) -> tuple[str, bytes]:
    """(content type, body) of a scrape; OpenMetrics when ``accept`` asks for it."""
    encoder, content_type = choose_encoder(accept or "")
    return content_type, encoder(registry)


def metrics_route(registry: CollectorRegistry) -> Route:
    """The API socket's ``GET /metrics`` handler: ``handler(path) -> (status, type, body)``."""

    def handler(request_path: str) -> tuple[int, str, bytes]:
        content_type, body = render(registry)
        return 200, content_type, body

    return handler


@dataclass
class MetricsExporter:
    """A running TCP listener; :meth:`stop` closes it."""

    server: WSGIServer
    thread: threading.Thread

    @classmethod
    def start(cls, listen: str, registry: CollectorRegistry) -> MetricsExporter | None:
        """Serve ``registry`` on ``listen`` in a background thread; ``None`` when disabled."""
        try:
            address = parse_listen(listen)
        except ValueError as error:
            raise ExporterError(str(error)) from None
        if address is None:
            log.info("metrics: TCP listener disabled (metrics_listen is empty)")
            return None
        host, port = address
        try:
            server = make_server(
                host, port, make_wsgi_app(registry), _server_class(host), _QuietHandler
            )
        except OSError as error:
            raise ExporterError(
                f"metrics: cannot listen on {listen} ({error.strerror or error}); "
                'choose another address with the metrics_listen setting, or set it to ""'
            ) from error
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="deployd-metrics",
            daemon=True,
        )
        thread.start()
        exporter = cls(server, thread)
        log.info("metrics: serving http://%s/metrics", exporter.address)
        return exporter

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def address(self) -> str:
        host = str(self.server.server_address[0])
        return f"[{host}]:{self.port}" if ":" in host else f"{host}:{self.port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        log.debug("metrics: %s %s", self.address_string(), format % args)


def _server_class(host: str) -> type[_ThreadingServer]:
    """The server class for ``host``'s address family (IPv4 or IPv6)."""
    family = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)[0][0]
    return type("MetricsServer", (_ThreadingServer,), {"address_family": family})
