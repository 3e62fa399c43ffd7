"""The webhook endpoint (off by default): an authenticated "poll now", nothing more.

``POST`` any path on ``[webhook] listen:port``. The body is never interpreted: it only serves to
check the signature, so a forged or replayed payload cannot choose what gets deployed: the
daemon polls its own configured repository and the ratchet decides. Accepted header forms, all
checked in constant time against the secret read from ``secret_file``:

* GitHub: ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>``
* Gitea / Forgejo: ``X-Gitea-Signature: <hex HMAC-SHA256 of the body>``
* GitLab: ``X-Gitlab-Token: <the secret>`` (the classic secret token: the token itself), or
  GitLab's signing token (Standard Webhooks): ``webhook-signature: v1,<base64 HMAC-SHA256 of
  "{webhook-id}.{webhook-timestamp}.{body}">``, with the timestamp within five minutes

Bad signatures get 401, and 429 once their address sent more than ``rate_limit`` of them in a
minute; a valid request is never limited (triggers collapse into one poll anyway), so junk
from anywhere cannot lock a forge out. Anything but
POST gets 405; a body without ``Content-Length`` (chunked) gets 400.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import queue
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from daemon.config import WebhookSettings
from daemon.loop import Trigger

log = logging.getLogger(__name__)
MAX_BODY = 1 << 20


class WebhookError(Exception):
    pass


def _same(given: str, expected: str | bytes) -> bool:
    """Constant-time equality as bytes: compare_digest refuses non-ASCII *strings*, and a
    header is whatever a client sends (it must get a 401, not a traceback)."""
    wanted = expected if isinstance(expected, bytes) else expected.encode()
    return hmac.compare_digest(given.strip().encode("utf-8", "surrogateescape"), wanted)


def verify_signature(secret: bytes, body: bytes, headers: Any) -> bool:
    """True when one of the supported header forms carries a valid signature."""
    digest = hmac.new(secret, body, hashlib.sha256).hexdigest()
    github = headers.get("X-Hub-Signature-256")
    if github:
        return _same(github, f"sha256={digest}")
    gitea = headers.get("X-Gitea-Signature") or headers.get("X-Forgejo-Signature")
    if gitea:
        return _same(gitea, digest)
    standard = headers.get("webhook-signature")
    if standard:
        return _verify_standard(secret, body, headers, standard)
    gitlab = headers.get("X-Gitlab-Token")
    if gitlab:
        return _same(gitlab, secret)
    return False


def _verify_standard(secret: bytes, body: bytes, headers: Any, signatures: str) -> bool:
    """Standard Webhooks (GitLab's signing token): ``webhook-signature: v1,<base64>`` over
    ``{webhook-id}.{webhook-timestamp}.{body}``, keyed with the secret (a ``whsec_<base64>``
    secret is decoded first). A timestamp more than five minutes off is a replay: refused."""
    msg_id, stamp = headers.get("webhook-id"), headers.get("webhook-timestamp")
    if not msg_id or not stamp or not stamp.isdigit() or abs(time.time() - int(stamp)) > 300:
        return False
    key = secret
    if secret.startswith(b"whsec_"):
        try:
            key = base64.b64decode(secret[len(b"whsec_") :], validate=True)
        except ValueError:
            return False
    signed = f"{msg_id}.{stamp}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(
        _same(part.removeprefix("v1,"), expected)
        for part in signatures.split()
        if part.startswith("v1,")
    )


class RateLimiter:
    """A token bucket: ``per_minute`` requests, refilled continuously."""

    def __init__(self, per_minute: float) -> None:
        self.capacity = max(1.0, per_minute)
        self.tokens = self.capacity
        self.rate = per_minute / 60.0
        self.updated = time.monotonic()
        self._lock = threading.Lock()

    def allow(self) -> bool:
        with self._lock:
            if self._refill() < 1:
                return False
            self.tokens -= 1
            return True

    def peek_tokens(self) -> float:
        with self._lock:
            return self._refill()

    def _refill(self) -> float:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        return self.tokens


class FailureLimiter:
    """Bad signatures per source address: ``per_minute`` each, so junk from one address
    cannot lock out a valid webhook from another. At most ``MAX_SOURCES`` addresses are
    remembered (the fullest buckets are forgotten first)."""

    MAX_SOURCES = 1024

    def __init__(self, per_minute: float) -> None:
        self.per_minute = per_minute
        self._buckets: dict[str, RateLimiter] = {}
        self._lock = threading.Lock()

    def allow(self, source: str) -> bool:
        """One more bad signature from ``source``: False once it is over its limit."""
        with self._lock:
            bucket = self._buckets.get(source)
            if bucket is None:
                if len(self._buckets) >= self.MAX_SOURCES:
                    self._forget_one()
                bucket = self._buckets[source] = RateLimiter(self.per_minute)
        return bucket.allow()

    def _forget_one(self) -> None:
        fullest = max(self._buckets, key=lambda name: self._buckets[name].peek_tokens())
        del self._buckets[fullest]


class _Handler(BaseHTTPRequestHandler):
    # http.server's own refusals (a bad request line, an unknown method) in plain text too
    error_content_type = "text/plain"
    error_message_format = "%(code)d %(message)s\n"
    server: WebhookServer
    timeout = 10  # seconds a client may stall mid-request before its connection is dropped

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("webhook: " + format, *args)

    def do_POST(self) -> None:
        self.close_connection = True  # one request per connection: nothing is left to read
        raw = self.headers.get("Content-Length")
        if self.headers.get("Transfer-Encoding") or raw is None or not raw.strip().isdigit():
            self._reply(400, "a Content-Length header with a byte count is required")
            return
        length = int(raw)
        if length > MAX_BODY:
            self._reply(413, "payload too large")
            return
        body = self.rfile.read(length)
        if not verify_signature(self.server.secret, body, self.headers):
            source = self.client_address[0] if self.client_address else "?"
            if not self.server.failures.allow(source):
                self._reply(429, "rate limited: too many bad signatures from this address")
                return
            log.warning("webhook: rejected a request from %s: missing or bad signature", source)
            self._reply(401, "bad signature")
            return
        self.server.triggers.put(Trigger("webhook"))
        self._reply(202, "poll queued")

    def _not_allowed(self) -> None:
        self.close_connection = True
        self._reply(405, "only POST is served here", allow="POST")

    do_GET = do_HEAD = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _not_allowed

    def _reply(self, status: int, text: str, allow: str | None = None) -> None:
        data = (text + "\n").encode() if self.command != "HEAD" else b""
        self.send_response(status)
        if allow:
            self.send_header("Allow", allow)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class WebhookServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, settings: WebhookSettings, triggers: queue.Queue[object]) -> None:
        try:
            self.secret = Path(settings.secret_file).read_bytes().strip()
        except OSError as error:
            raise WebhookError(
                f"webhook secret_file {settings.secret_file}: {error.strerror}"
            ) from error
        if not self.secret:
            raise WebhookError(f"webhook secret_file {settings.secret_file} is empty")
        self.triggers = triggers
        self.failures = FailureLimiter(settings.rate_limit)
        try:
            super().__init__((settings.listen, settings.port), _Handler)
        except OSError as error:
            raise WebhookError(
                f"webhook cannot listen on {settings.listen}:{settings.port}: {error.strerror}"
            ) from error
        self._thread = threading.Thread(target=self.serve_forever, name="webhook", daemon=True)

    def start(self) -> WebhookServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
