"""systemd readiness, status and watchdog: ``sd_notify`` with or without systemd-python.

With systemd-python installed, :func:`systemd.daemon.notify` sends the message; without it a
few lines of pure Python send the same bytes (one datagram to ``$NOTIFY_SOCKET``; a leading
``@`` means the abstract namespace). Outside systemd (no ``NOTIFY_SOCKET``) both are no-ops.

The watchdog is fed only from the loop's own progress (see ``loop.owner``): a wedged loop stops
sending ``WATCHDOG=1`` and systemd restarts the service.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable

log = logging.getLogger(__name__)


def _pure_python_notify(message: str) -> bool:
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(message.encode())
    except OSError as error:
        log.debug("notify: cannot send to %s: %s", address, error)
        return False
    return True


def _pick_backend(use_systemd: bool = True) -> tuple[str, Callable[[str], bool]]:
    if use_systemd:
        try:
            from systemd import daemon as sd_daemon  # type: ignore[import-not-found,attr-defined,unused-ignore]
        except ImportError:
            pass
        else:
            return "systemd-python", lambda message: bool(sd_daemon.notify(message))
    return "pure-python", _pure_python_notify


class Notifier:
    """Sends READY/STATUS/WATCHDOG/STOPPING; remembers the last STATUS to avoid repeats."""

    def __init__(self, use_systemd: bool | None = None) -> None:
        if use_systemd is None:
            use_systemd = os.environ.get("DEPLOYD_NO_SYSTEMD_PYTHON") != "1"
        self.backend, self._send = _pick_backend(use_systemd)
        self.enabled = bool(os.environ.get("NOTIFY_SOCKET"))
        self._status = ""

    def send(self, message: str) -> None:
        if self.enabled:
            self._send(message)

    def ready(self, status: str) -> None:
        self._status = status
        self.send(f"READY=1\nSTATUS={status}\nMAINPID={os.getpid()}")

    def status(self, status: str) -> None:
        if status != self._status:
            self._status = status
            self.send(f"STATUS={status}")

    def watchdog(self) -> None:
        self.send("WATCHDOG=1")

    def stopping(self) -> None:
        self.send("STOPPING=1\nSTATUS=stopping")


def watchdog_interval() -> float | None:
    """Half of systemd's ``WatchdogSec`` when the watchdog is meant for us, else None."""
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec or (pid and pid != str(os.getpid())):
        return None
    try:
        return int(usec) / 2_000_000
    except ValueError:
        return None
