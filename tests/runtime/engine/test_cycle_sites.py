"""A dependency cycle names, for each edge, the ``require()`` behind it and where it was called.

The classes below call into the runtime from this file, so the expected sites are this file and
the line marked with the comment named in each test.
"""

from __future__ import annotations

from pathlib import Path

from components_runtime.engine.configure import configure_environment
from components_runtime.engine.testing import add_root, make_environment
from components_runtime.errors import CycleError
from components_runtime.model.component import Component
from components_runtime.model.resources import Resources

SOURCE = Path(__file__).read_text().splitlines()


def at(marker: str) -> str:
    """``FILE:LINE`` of the line of this file that ends with ``# marker``."""
    (line,) = [n for n, text in enumerate(SOURCE, 1) if text.endswith(f"# {marker}")]
    return f"{__file__}:{line}"


class Ping(Component):
    def configure(self) -> None:
        self.require("pong:port")  # ping-requires
        self.provide("ping:port", 1)


class Pong(Component):
    def configure(self) -> None:
        self.require("ping:port")  # pong-requires
        self.provide("pong:port", 2)


class Selfish(Component):
    def configure(self) -> None:
        self.provide("me", 1)  # selfish-provides
        self.require("me")  # selfish-requires


class Offers(Component):
    def configure(self) -> None:
        self.provide("sibling", 1)  # sibling-provides


class Wants(Component):
    def configure(self) -> None:
        self.require("sibling")  # sibling-requires


class Family(Component):
    """A sub-component requires what its sibling provides: the root depends on itself."""

    def configure(self) -> None:
        self += Offers()
        self += Wants()


class Tail(Component):
    """Deploys before Head (the reverse require), yet needs Head's other key: a cycle."""

    def configure(self) -> None:
        self.provide("tail", 1)
        self.require("head", reverse=True)  # tail-requires-reverse
        self.require("head:other")  # tail-requires


class Head(Component):
    def configure(self) -> None:
        self.provide("head", 1)
        self.provide("head:other", 2)


class Greedy(Component):
    """Two keys of PingWithAdmin link the same edge: both are named."""

    def configure(self) -> None:
        self.require("ping:port")  # greedy-port
        self.require("ping:admin")  # greedy-admin
        self.provide("pong:port", 3)


class PingWithAdmin(Ping):
    def configure(self) -> None:
        super().configure()
        self.provide("ping:admin", 1)


def cycles_of(tmp_path: Path, *factories: type) -> list[CycleError]:
    env = make_environment(tmp_path)
    for factory in factories:
        add_root(env, factory)
    errors = configure_environment(env).errors
    return [error for error in errors if isinstance(error, CycleError)]


def edge(root: str, dependency: str) -> str:
    return f"{root} (localhost) depends on {dependency} (localhost): "


def test_each_edge_names_its_key_and_the_line_of_the_require(tmp_path: Path) -> None:
    (error,) = cycles_of(tmp_path, Ping, Pong)
    assert error.message == (
        "Found dependency cycle: ping (localhost) -> pong (localhost) -> ping (localhost)"
    )
    assert error.details == (
        edge("ping", "pong") + f"ping requires 'pong:port' at {at('ping-requires')}",
        edge("pong", "ping") + f"pong requires 'ping:port' at {at('pong-requires')}",
    )
    assert f"{error.file}:{error.line}" == at("ping-requires")  # the first edge's require()
    assert error.component == "ping"


def test_requiring_what_a_root_provides_itself_names_both_calls(tmp_path: Path) -> None:
    (error,) = cycles_of(tmp_path, Selfish)
    assert error.details == (
        edge("selfish", "selfish") + f"selfish requires 'me' at {at('selfish-requires')} "
        f"and provides it itself at {at('selfish-provides')}",
    )
    assert f"{error.file}:{error.line}" == at("selfish-requires")


def test_sub_components_of_one_root_are_named_at_their_own_lines(tmp_path: Path) -> None:
    (error,) = cycles_of(tmp_path, Family)
    assert error.details == (
        edge("family", "family") + f"family requires 'sibling' at {at('sibling-requires')} "
        f"and provides it itself at {at('sibling-provides')}",
    )


def test_a_reverse_require_is_named_on_the_edge_it_flips(tmp_path: Path) -> None:
    (error,) = cycles_of(tmp_path, Tail, Head)
    assert error.details == (
        edge("tail", "head") + f"tail requires 'head:other' at {at('tail-requires')}",
        edge("head", "tail")
        + f"tail requires 'head' with reverse=True at {at('tail-requires-reverse')}",
    )


def test_every_key_linking_an_edge_is_named(tmp_path: Path) -> None:
    """Breaking one of two requires between the same roots would not break the cycle."""
    (error,) = cycles_of(tmp_path, PingWithAdmin, Greedy)
    assert error.details == (
        edge("pingwithadmin", "greedy")
        + f"pingwithadmin requires 'pong:port' at {at('ping-requires')}",
        edge("greedy", "pingwithadmin") + f"greedy requires 'ping:port' at {at('greedy-port')}",
        edge("greedy", "pingwithadmin") + f"greedy requires 'ping:admin' at {at('greedy-admin')}",
    )


def test_links_look_only_at_what_the_two_roots_provide() -> None:
    """The lookup behind the report: keys of the two roots, host filters respected."""

    class Root:
        def __init__(self, name: str, host: object) -> None:
            self.name, self.host = name, host

    here, there = object(), object()
    a, b, c = Root("a", here), Root("b", here), Root("c", there)
    resources = Resources()
    resources.provide(b, "k", 1, ("b.py", 1))
    resources.provide(c, "k", 2, ("c.py", 1))
    resources.require(a, "k", host=here, site=("a.py", 3))
    resources.require(a, "unrelated", site=("a.py", 4))
    [link] = resources.links(a, b)
    assert (link.key, link.requirer, link.provider, link.reverse, link.site) == (
        "k", a, b, False, ("a.py", 3)
    )  # fmt: skip
    assert resources.links(a, c) == []  # a's require() filters on host `here`
    assert resources.links(b, a) == []
