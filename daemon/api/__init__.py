"""The control API: the HTTP server on the unix socket, and the client the CLI uses."""

from typing import TYPE_CHECKING

from daemon import lazy_exports

if TYPE_CHECKING:  # the export table: imported on first use (see lazy_exports)
    from daemon.api.client import Client, ClientError, RequestRefused
    from daemon.api.server import ApiError, ApiServer

__all__ = ["ApiError", "ApiServer", "Client", "ClientError", "RequestRefused"]

__getattr__ = lazy_exports(__name__, __file__)
