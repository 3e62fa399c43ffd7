"""The API client: httpx over the daemon's unix socket.

Kept light on purpose: ``deployd status`` imports this and httpx, nothing of the daemon's
heavy machinery (GitPython, prometheus-client), so it answers fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx


class ClientError(Exception):
    """The daemon cannot be reached or refused the request; ``str()`` says what to do."""


class RequestRefused(ClientError):
    """The daemon answered, and refused the request (an unknown run id or commit, bad input)."""


class Client:
    def __init__(self, socket_path: Path | str, timeout: float = 10.0) -> None:
        self.socket_path = Path(socket_path)
        # verify=False on the transport itself: plain HTTP over a unix socket needs no TLS, and
        # the default builds an SSL context from the CA bundle (~25 ms of `deployd status`).
        transport = httpx.HTTPTransport(uds=str(self.socket_path), verify=False)
        self._http = httpx.Client(
            transport=transport, base_url="http://deployd", timeout=timeout, verify=False
        )

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.close()

    def status(self) -> dict[str, Any]:
        return self._call("GET", "/status")

    def runs(self, limit: int = 20) -> list[dict[str, Any]]:
        return list(self._call("GET", "/runs", params={"limit": limit})["runs"])

    def run(self, run_id: str) -> dict[str, Any]:
        return self._call("GET", f"/runs/{run_id}")

    def converge(
        self, wait: bool = False, timeout: float | None = None, now: bool = False
    ) -> dict[str, Any]:
        params = {"wait": "1"} if wait else {}
        if now:
            params["now"] = "1"
        if wait and timeout is None:
            timeout = 24 * 3600.0  # the run starts after the one in flight, however long
        return self._call("POST", "/converge", params=params, timeout=timeout, ok=(409,))

    def suspend(self, reason: str) -> dict[str, Any]:
        return self._call("POST", "/suspend", json={"reason": reason})

    def resume(self) -> dict[str, Any]:
        return self._call("POST", "/resume")

    def trust(self, sha: str) -> dict[str, Any]:
        return self._call("POST", "/trust", json={"sha": sha})

    def get_text(self, path: str) -> str:
        try:
            return self._http.get(path).text
        except httpx.TransportError as error:
            raise self._unreachable(error) from None

    def _call(
        self,
        method: str,
        path: str,
        timeout: float | None = None,
        ok: tuple[int, ...] = (),
        **kwargs: Any,
    ) -> dict[str, Any]:
        if timeout is not None:
            kwargs["timeout"] = timeout
        if not self._socket_exists():  # say so without a connect attempt
            raise self._unreachable(FileNotFoundError(str(self.socket_path)))
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as error:
            raise self._unreachable(error) from None
        try:
            body = response.json()
        except ValueError:
            body = {"error": response.text.strip()}
        if response.status_code == 403:  # who asks may not: as a socket closed to them (exit 3)
            raise ClientError(str(body.get("error") or "permission denied"))
        if response.status_code >= 400 and response.status_code not in ok:
            raise RequestRefused(str(body.get("error") or f"HTTP {response.status_code}"))
        return dict(body)

    def _socket_exists(self) -> bool:
        try:
            return self.socket_path.exists()
        except PermissionError:  # a directory on the way is closed to this user
            raise self._denied() from None

    def _denied(self) -> ClientError:
        return ClientError(
            f"permission denied on {self.socket_path}: run as root, or as a member of the "
            "socket's group (setting socket_group, default deployd: `usermod -aG deployd USER`, "
            "then log in again)"
        )

    def _unreachable(self, error: Exception) -> ClientError:
        if "Permission denied" in str(error):
            return self._denied()
        if not self._socket_exists():
            return ClientError(
                f"the daemon is not running: no socket at {self.socket_path} "
                "(start it with `systemctl start deployd` or `deployd run`)"
            )
        if isinstance(error, httpx.TimeoutException):
            return ClientError(f"the daemon at {self.socket_path} did not answer in time")
        return ClientError(f"cannot talk to the daemon at {self.socket_path}: {error}")
