"""``Address``, ``NetLoc`` and name resolution with ``[resolver]`` overrides (``batou.utils``).

The overrides and the ``require_v4``/``require_v6`` defaults are module-level state, on purpose:
component code constructs ``Address("db:5432")`` with no handle on the environment, exactly as in
batou, so the lookup has to find the environment's settings globally. This is safe because one
worker process loads exactly one environment: the worker calls ``install_overrides`` and
``set_address_defaults`` once after loading the environment and before any component runs, and
nothing else changes them. (batou keeps the same globals in ``batou.utils``.)
"""

from __future__ import annotations

import functools
import logging
import socket
from collections.abc import Mapping
from typing import Any

from components_runtime.errors import (
    GetAddressInfoError,
    IPAddressConfigurationError,
    message_of,
)

log = logging.getLogger(__name__)

# hostname -> address; replaced as a whole by install_overrides().
resolve_override: dict[str, str] = {}
resolve_v6_override: dict[str, str] = {}


def install_overrides(v4: Mapping[str, str], v6: Mapping[str, str]) -> None:
    """Make the environment's ``[resolver]`` entries the answers for these names."""
    resolve_override.clear()
    resolve_override.update(v4)
    resolve_v6_override.clear()
    resolve_v6_override.update(v6)


def set_address_defaults(require_v4: bool | str, require_v6: bool | str) -> None:
    """The environment's ``require_v4``/``require_v6``: what ``Address`` uses when not told."""
    Address.require_v4 = require_v4
    Address.require_v6 = require_v6


def resolve(
    host: str, port: int | str = 0, resolve_override: Mapping[str, str] = resolve_override
) -> str:
    """The first IPv4 address of ``host``; a ``[resolver]`` entry wins over DNS."""
    if host in resolve_override:
        log.debug("resolved (v4) %s to %s (override)", host, resolve_override[host])
        return resolve_override[host]
    responses = socket.getaddrinfo(host, int(port), socket.AF_INET)
    address = str(responses[0][4][0])
    log.debug("resolved (v4) %s to %s", host, address)
    return address


def resolve_v6(
    host: str, port: int | str = 0, resolve_override: Mapping[str, str] = resolve_v6_override
) -> str:
    """The first IPv6 address of ``host`` that is not link-local (``fe80:``)."""
    if host in resolve_override:
        log.debug("resolved (v6) %s to %s (override)", host, resolve_override[host])
        return resolve_override[host]
    for *_, sockaddr in socket.getaddrinfo(host, int(port), socket.AF_INET6):
        address = str(sockaddr[0])
        if not address.startswith("fe80:"):
            log.debug("resolved (v6) %s to %s", host, address)
            return address
    raise ValueError(f"No valid address found for `{host}`.")


@functools.total_ordering
class NetLoc:
    """A host and an optional port. ``str()`` brackets IPv6 addresses when a port is given.

    Comparison is by the string form, also against plain strings (batou's predictable order).
    """

    port: Any = None

    def __init__(self, host: str, port: Any = None) -> None:
        self.host = host
        self.port = port

    def __str__(self) -> str:
        if not self.port:
            return f"{self.host}"
        if ":" in self.host:
            return f"[{self.host}]:{self.port}"
        return f"{self.host}:{self.port}"

    def __repr__(self) -> str:
        return f"<NetLoc `{self}`>"

    def __lt__(self, other: object) -> bool:
        return str(self) < other  # type: ignore[operator]

    def __eq__(self, other: object) -> bool:
        return str(self) == other

    __hash__ = None  # type: ignore[assignment]  # as in batou: equal to strings, so unhashable


_DEFAULT: Any = object()


@functools.total_ordering
class Address:
    """A service address: ``connect`` is what clients use, ``listen``/``listen_v6`` what servers
    bind to (resolved on first use, ``[resolver]`` overrides first).

    ``require_v4``/``require_v6``: ``True`` (must resolve), ``False`` (must not be used) or
    ``"optional"`` (``None`` when it does not resolve). Defaults come from the environment.
    """

    require_v4: Any = True
    require_v6: Any = False

    def __init__(
        self,
        connect_address: str,
        port: Any = None,
        require_v4: Any = _DEFAULT,
        require_v6: Any = _DEFAULT,
    ) -> None:
        if require_v4 is not _DEFAULT:
            self.require_v4 = require_v4
        if require_v6 is not _DEFAULT:
            self.require_v6 = require_v6
        if not self.require_v4 and not self.require_v6:
            raise ValueError(
                "At least one of `require_v4` or `require_v6` is required. None were selected."
            )
        connect, port = _split_host_port(connect_address, port)
        self.connect = NetLoc(connect, port)

    def __str__(self) -> str:
        return str(self.connect)

    def __repr__(self) -> str:
        return f"<Address `{self}`>"

    def __lt__(self, other: object) -> bool:
        if isinstance(other, Address):
            return str(self) < str(other)
        return NotImplemented

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Address):
            return str(self) == str(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # batou's Address is unhashable too

    @property
    def listen(self) -> NetLoc | None:
        if not self.require_v4:
            raise _not_configured(self, 4)
        if not hasattr(self, "_listen_v4"):
            self._listen_v4 = self._lookup(resolve, self.require_v4)
        return self._listen_v4

    @listen.setter
    def listen(self, value: NetLoc | None) -> None:
        self._listen_v4 = value

    @property
    def listen_v6(self) -> NetLoc | None:
        if not self.require_v6:
            raise _not_configured(self, 6)
        if not hasattr(self, "_listen_v6"):
            self._listen_v6 = self._lookup(resolve_v6, self.require_v6)
        return self._listen_v6

    @listen_v6.setter
    def listen_v6(self, value: NetLoc | None) -> None:
        self._listen_v6 = value

    def _lookup(self, resolver: Any, requirement: Any) -> NetLoc | None:
        try:
            return NetLoc(resolver(self.connect.host, self.connect.port), self.connect.port)
        except (OSError, ValueError) as exc:
            if requirement == "optional":
                return None
            where = f"{self.connect.host}:{self.connect.port}"
            family = "IPv4" if resolver is resolve else "IPv6"
            raise GetAddressInfoError(
                f"Error while resolving {where}: {message_of(exc)}",
                hint=f"Check the name, add it to [resolver], or pass "
                f"require_v{4 if family == 'IPv4' else 6}='optional' to Address.",
            ) from exc


def _split_host_port(connect_address: str, port: Any) -> tuple[str, Any]:
    """``host:port`` as batou splits it (the port stays a string), plus what batou cannot read:
    ``[v6]:port``, and a bare IPv6 address with the port given separately."""
    host = connect_address
    if connect_address.startswith("[") and "]:" in connect_address:
        host, port = connect_address[1:].split("]:", 1)
    elif connect_address.count(":") == 1:
        host, port = connect_address.split(":")
    elif ":" in connect_address and port is None:
        raise ValueError(
            f"Cannot split {connect_address!r} into host and port: write [ADDRESS]:PORT or "
            "pass the port separately."
        )
    if port is None:
        raise ValueError("Need port for service address.")
    return host, port


def _not_configured(address: Address, kind: int) -> IPAddressConfigurationError:
    return IPAddressConfigurationError(
        f"Trying to access address family IPv{kind} which is not configured for {address}.",
        hint=f"Use `require_v{kind}=True` when instantiating the Address object.",
    )
