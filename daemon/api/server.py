"""The control API: HTTP/1.1 on a unix socket (mode 0660, group ``deployd``).

=======  ===================  =============================================================
GET      ``/status``          the :class:`~daemon.records.model.StatusSnapshot` (with ``schema``)
GET      ``/runs?limit=N``    ``{"schema", "runs": [RunRecord...]}``, newest first
GET      ``/runs/ID``         one RunRecord
POST     ``/converge``        queue a converge; ``?wait=1`` answers once the run started
                              (``{"run_id": ...}``) so the client can wait for its record
POST     ``/suspend``         body ``{"reason": TEXT}``
POST     ``/resume``
POST     ``/trust``           body ``{"sha": SHA}``: move the ratchet by hand
=======  ===================  =============================================================

Extra routes (``/metrics`` from ``daemon.observe.exporter``) are plugged in as
``{(method, path): handler}`` with ``handler(request_path) -> (status, content_type, body)``.

The handlers only read the loop's published snapshot, read run files, or put a message on the
loop's queue: they never touch the state themselves.
"""

from __future__ import annotations

import grp
import json
import logging
import os
import socket
import socketserver
import stat
import threading
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from daemon.api.peers import Access, Peer, peer_of
from daemon.loop import Control, Loop, Trigger
from daemon.records import SCHEMA_VERSION

log = logging.getLogger(__name__)

Route = Callable[[str], tuple[int, str, bytes]]


class ApiError(Exception):
    """The API socket cannot be served (names the path and what to do)."""


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    loop: Loop
    extra_routes: dict[tuple[str, str], Route]
    access: Access
    groups: tuple[str, str]  # socket_group, control_group (for the error texts)


class _Handler(BaseHTTPRequestHandler):
    # http.server's own refusals (a bad request line, an unknown method) in plain text too
    error_content_type = "text/plain"
    error_message_format = "%(code)d %(message)s\n"
    server: _Server
    protocol_version = "HTTP/1.1"
    peer: Peer

    def address_string(self) -> str:
        return "unix"

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Requests that change something, and failures; reads that worked (every
        `deployd status`, every scrape) would drown the journal."""
        if self.command == "GET" and str(code).startswith("2"):
            return
        super().log_request(code, size)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("api: " + format, *args)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        extra = self.server.extra_routes.get((method, url.path))
        self.peer = peer_of(self.request)
        denied = self._denied(method, url.path)
        if denied:
            self._discard_body()
            self._send(403, "application/json", (json.dumps({"error": denied}) + "\n").encode())
            return
        try:
            if extra:
                self._send(*extra(self.path))
                return
            status, body = self._route(method, url.path, query)
        except ValueError as error:  # a bad number or bad JSON from the client
            status, body = 400, {"error": f"bad request: {error}"}
        except Exception as error:  # the API must answer, whatever happens
            log.exception("api: %s %s failed", method, self.path)
            status, body = 500, {"error": f"{type(error).__name__}: {error}"}
        self._send(status, "application/json", (json.dumps(body) + "\n").encode())

    def _denied(self, method: str, path: str) -> str | None:
        """Why the peer may not do this, or None. Every change request is logged, with who
        asked (the kernel's word for it: SO_PEERCRED), allowed or not."""
        access, peer = self.server.access, self.peer
        extra = {"uid": str(peer.uid)}
        if method != "POST":
            if access.may_read(peer):
                return None
            log.warning("api: %s may not read %s", peer.describe(), path, extra=extra)
            return (
                f"permission denied: {peer.user} (uid {peer.uid}) is not in the socket's group "
                f"{self.server.groups[0]!r} (setting socket_group)"
            )
        command = path.strip("/") or "?"
        if access.may_change(peer):
            log.info("api: %s asks to %s", peer.describe(), command, extra=extra)
            return None
        log.warning("api: %s asks to %s: denied", peer.describe(), command, extra=extra)
        group = self.server.groups[1]
        who = f"root or members of the group {group!r}" if group else "root"
        return (
            f"permission denied: {peer.user} (uid {peer.uid}) may read but not change; "
            f"`deployd {command}` is for {who} (setting control_group)"
        )

    def _discard_body(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if 0 < length <= 1 << 16:
            self.rfile.read(length)
        else:
            self.close_connection = True

    def _route(self, method: str, path: str, query: dict[str, str]) -> tuple[int, Any]:
        loop = self.server.loop
        if method == "GET" and path == "/status":
            return 200, {**loop.snapshot.to_dict(), "schema": SCHEMA_VERSION}
        if method == "GET" and path == "/runs":
            limit = int(query.get("limit", "20"))
            if limit < 0:
                raise ValueError("limit must not be negative")
            runs = [r.to_dict() for r in loop.store.list_runs(limit=limit)]
            return 200, {"schema": SCHEMA_VERSION, "runs": runs}
        if method == "GET" and path.startswith("/runs/"):
            record = loop.store.get_run(path.removeprefix("/runs/"))
            if record is None:
                return 404, {"error": f"no run {path.removeprefix('/runs/')!r} is stored"}
            return 200, record.to_dict()
        if method == "POST" and path == "/converge":
            return self._converge(loop, query.get("wait") == "1", query.get("now") == "1")
        if method == "POST" and path in ("/suspend", "/resume", "/trust"):
            return self._control(loop, path[1:])
        return 404, {"error": f"no route {method} {path}"}

    def _converge(self, loop: Loop, wait: bool, now: bool = False) -> tuple[int, Any]:
        suspended = loop.snapshot.state.suspended_reason
        if suspended:  # nothing would run: say so now instead of "queued"
            return 409, {"run_id": None, "message": f"suspended: {suspended}"}
        waiter: Future[dict[str, Any]] | None = Future() if wait else None
        # now: the operator's override of change windows, waves and a rolled-back mark
        loop.queue.put(Trigger("override" if now else "api", waiter=waiter))
        if waiter is None:
            return 202, {"queued": True}
        try:
            answer = waiter.result(timeout=loop.settings.limits.run)
        except FutureTimeout:
            return 504, {"error": "the run did not start in time"}
        return (200 if answer.get("run_id") else 409), answer

    def _control(self, loop: Loop, action: str) -> tuple[int, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}") if length else {}
        if not isinstance(body, dict):
            raise ValueError("the body must be a JSON object")
        key = "reason" if action == "suspend" else "sha"
        argument = body.get(key) if action != "resume" else None
        if argument is not None and not isinstance(argument, str):
            raise ValueError(f"{key} must be a string")  # it is stored in state.json
        reply: Future[dict[str, Any]] = Future()
        if argument:
            log.info("api: %s: %s %s", self.peer.describe(), action, argument)
        loop.queue.put(Control(action, argument, reply, self.peer.describe(), self.peer.uid))
        try:
            answer = reply.result(timeout=30)
        except FutureTimeout:
            return 504, {"error": "the daemon loop did not answer in 30s"}
        return (400 if "error" in answer else 200), answer

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class ApiServer:
    """Serves the API for one loop on ``path`` in a background thread."""

    def __init__(
        self,
        loop: Loop,
        path: Path,
        group: str = "deployd",
        extra_routes: dict[tuple[str, str], Route] | None = None,
        control_group: str = "",
    ) -> None:
        self.path = path
        created = _prepare_socket_path(path)
        # Bound under a temporary name, given its group, then renamed into place: the socket
        # appears only once the group can reach it (a listening socket keeps working when
        # renamed), so a client never meets a socket it may not use yet.
        unready = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        unready.unlink(missing_ok=True)
        old_umask = os.umask(0o117)  # the socket is born 0660: no window where others connect
        try:
            self._server = _Server(str(unready), _Handler)
        except OSError as error:
            raise ApiError(f"cannot listen on {path}: {error.strerror}") from error
        finally:
            os.umask(old_umask)
        self._server.loop = loop
        self._server.extra_routes = dict(extra_routes or {})
        self._server.access = Access.for_groups(group, control_group)
        self._server.groups = (group, control_group)
        try:
            # The group must reach the socket too: systemd makes RuntimeDirectory= root:root 0750.
            ours = created or str(path.parent) in _runtime_directories()
            _set_group([unready, path.parent] if ours else [unready], group, path)
            os.replace(unready, path)
        except OSError as error:
            self._server.server_close()
            unready.unlink(missing_ok=True)
            raise ApiError(f"cannot listen on {path}: {error.strerror}") from error
        self._thread = threading.Thread(target=self._server.serve_forever, name="api", daemon=True)

    def start(self) -> ApiServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self.path.unlink(missing_ok=True)


def _prepare_socket_path(path: Path) -> bool:
    """Check (and make) the socket's directory; True when it was made here."""
    created = not path.parent.exists()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o750)
    mode = path.parent.stat().st_mode
    if mode & stat.S_IWOTH:
        raise ApiError(
            f"{path.parent} is world-writable: put the API socket in a private directory "
            "(setting `socket`, default /run/deployd/deployd.sock)"
        )
    if path.exists() or path.is_symlink():
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(str(path))
        except OSError:
            path.unlink()  # a stale socket of a daemon that died
        else:
            raise ApiError(f"another deployd is already answering on {path}")
        finally:
            probe.close()
    return created


def _runtime_directories() -> list[str]:
    """The service's RuntimeDirectory= paths, which systemd passes in $RUNTIME_DIRECTORY."""
    return [p.rstrip("/") for p in os.environ.get("RUNTIME_DIRECTORY", "").split(":") if p]


def _set_group(paths: list[Path], group: str, socket_path: Path) -> None:
    try:
        gid = grp.getgrnam(group).gr_gid
    except KeyError:
        log.warning(
            "api: group %r does not exist; %s stays owned by root's group", group, socket_path
        )
        return
    for path in paths:
        os.chown(path, -1, gid)
