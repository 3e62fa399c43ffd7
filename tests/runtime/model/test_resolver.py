"""Address, NetLoc and resolution with [resolver] overrides (batou.utils behaviour).

Only 127.0.0.1, ::1, localhost and overrides are used. Failed lookups use numeric addresses of
the wrong family ("::1" asked for IPv4), which fail inside getaddrinfo without any DNS traffic.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from components_runtime.envconfig.load import load_environment_config
from components_runtime.errors import GetAddressInfoError, IPAddressConfigurationError
from components_runtime.model import resolver
from components_runtime.model.resolver import (
    Address,
    NetLoc,
    install_overrides,
    resolve,
    resolve_v6,
    set_address_defaults,
)


@pytest.fixture(autouse=True)
def clean_resolver_state() -> Iterator[None]:
    # The state is process-wide: other tests (in-process sessions) may have loaded environments.
    install_overrides({}, {})
    set_address_defaults(True, False)
    yield
    install_overrides({}, {})
    set_address_defaults(True, False)


def test_resolve_localhost_and_literals() -> None:
    assert resolve("localhost") == "127.0.0.1"
    assert resolve("127.0.0.1", 80) == "127.0.0.1"
    assert resolve_v6("::1", "80") == "::1"


def test_overrides_win_and_are_replaced_as_a_whole() -> None:
    install_overrides({"db": "10.0.0.5"}, {"db": "2001:db8::5"})
    assert (resolve("db", 5432), resolve_v6("db")) == ("10.0.0.5", "2001:db8::5")
    install_overrides({"localhost": "10.9.9.9"}, {})
    assert resolve("localhost") == "10.9.9.9"
    assert "db" not in resolver.resolve_override and not resolver.resolve_v6_override


def test_overrides_from_an_environment_file(tmp_path: Path) -> None:
    path = tmp_path / "environments" / "dev" / "environment.cfg"
    path.parent.mkdir(parents=True)
    path.write_text("[resolver]\napp.internal = 127.0.0.7\n    ::7\n")
    config = load_environment_config(tmp_path, "dev")
    install_overrides(config.resolver_v4, config.resolver_v6)
    address = Address("app.internal:8080", require_v6=True)
    assert (str(address.listen), str(address.listen_v6)) == ("127.0.0.7:8080", "[::7]:8080")


def test_resolve_failures_keep_their_kind() -> None:
    with pytest.raises(socket.gaierror):
        resolve("::1", 80)
    with pytest.raises(socket.gaierror):
        resolve_v6("127.0.0.1", 80)


ADDRESS_STRINGS = {
    "host:port string": (("localhost:8080",), "localhost", "8080"),
    "separate port": (("localhost", 8080), "localhost", 8080),
    "port in string wins": (("localhost:8080", 9090), "localhost", "8080"),
    "bracketed v6": (("[::1]:80",), "::1", "80"),
    "bare v6 with port": (("::1", 80), "::1", 80),
}


@pytest.mark.parametrize(
    ("args", "host", "port"), ADDRESS_STRINGS.values(), ids=ADDRESS_STRINGS.keys()
)
def test_address_connect(args: tuple[object, ...], host: str, port: object) -> None:
    address = Address(*args)  # type: ignore[arg-type]
    assert (address.connect.host, address.connect.port) == (host, port)


@pytest.mark.parametrize("args", [("localhost",), ("::1",)])
def test_address_needs_a_port(args: tuple[str]) -> None:
    with pytest.raises(ValueError):
        Address(*args)


def test_address_listen() -> None:
    address = Address("localhost:8080")
    assert str(address.listen) == "127.0.0.1:8080"
    assert (address.listen.host, address.listen.port) == ("127.0.0.1", "8080")
    assert str(address.connect) == "localhost:8080" == str(address)
    assert repr(address) == "<Address `localhost:8080`>"
    address.listen = NetLoc("0.0.0.0", 1)
    assert str(address.listen) == "0.0.0.0:1"


def test_address_v6_listen() -> None:
    address = Address("::1", 22, require_v6=True)
    assert str(address.listen_v6) == "[::1]:22"


def test_unconfigured_family_is_refused() -> None:
    with pytest.raises(IPAddressConfigurationError) as caught:
        Address("localhost", 22).listen_v6  # noqa: B018
    assert caught.value.message == (
        "Trying to access address family IPv6 which is not configured for localhost:22."
    )
    assert caught.value.hint == "Use `require_v6=True` when instantiating the Address object."
    with pytest.raises(IPAddressConfigurationError):
        Address("localhost", 22, require_v4=False, require_v6=True).listen  # noqa: B018


def test_neither_family_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="At least one of `require_v4` or `require_v6`"):
        Address("localhost:1", require_v4=False, require_v6=False)


def test_failed_lookup_is_a_clear_error() -> None:
    with pytest.raises(GetAddressInfoError) as caught:
        Address("::1", 80).listen  # noqa: B018
    assert caught.value.message.startswith("Error while resolving ::1:80: ")
    assert "[resolver]" in (caught.value.hint or "")
    assert isinstance(caught.value, socket.gaierror)  # batou's GetAddressInfoError is one too
    with pytest.raises(GetAddressInfoError):
        Address("127.0.0.1:80", require_v6=True).listen_v6  # noqa: B018


def test_optional_family_gives_none() -> None:
    address = Address("127.0.0.1:80", require_v6="optional")
    assert address.listen_v6 is None
    assert str(address.listen) == "127.0.0.1:80"
    assert Address("::1", 80, require_v4="optional", require_v6=True).listen is None


def test_environment_defaults_apply_to_new_addresses() -> None:
    set_address_defaults("optional", True)
    address = Address("::1", 80)
    assert (address.require_v4, address.require_v6) == ("optional", True)
    assert address.listen is None and str(address.listen_v6) == "[::1]:80"
    assert Address("::1", 80, require_v4=True).require_v4 is True


def test_ordering_and_equality_by_string() -> None:
    addresses = [
        Address("localhost:8080"),
        Address("127.0.0.5:8080"),
        Address("127.122.122.133:8080"),
        Address("127.10.1.5:8080"),
    ]
    assert [str(a) for a in sorted(addresses)] == [
        "127.0.0.5:8080",
        "127.10.1.5:8080",
        "127.122.122.133:8080",
        "localhost:8080",
    ]
    assert Address("a:1") == Address("a", 1)
    assert Address("a:1") != "a:1"


def test_netloc() -> None:
    assert str(NetLoc("127.0.0.1")) == "127.0.0.1"
    assert str(NetLoc("::1", 80)) == "[::1]:80"
    assert repr(NetLoc("127.0.0.5", "80")) == "<NetLoc `127.0.0.5:80`>"
    netlocs = [NetLoc("asdf"), NetLoc("127.0.0.5", "80"), NetLoc("asdf", "90"), NetLoc("127.0.0.5")]
    assert [str(n) for n in sorted(netlocs)] == ["127.0.0.5", "127.0.0.5:80", "asdf", "asdf:90"]
    assert NetLoc("h", 1) == "h:1"  # compares with strings, as batou's does
