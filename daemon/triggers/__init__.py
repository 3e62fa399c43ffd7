"""What starts a run early: watchers on pushed refs and the bundle inbox, the HMAC webhook."""

from typing import TYPE_CHECKING

from daemon import lazy_exports

if TYPE_CHECKING:  # the export table: imported on first use (see lazy_exports)
    from daemon.triggers.watchers import start_watchers
    from daemon.triggers.webhook import WebhookError, WebhookServer

__all__ = ["start_watchers", "WebhookError", "WebhookServer"]

__getattr__ = lazy_exports(__name__, __file__)
