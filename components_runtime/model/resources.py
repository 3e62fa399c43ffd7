"""provide / require bookkeeping across every root of the environment (batou's ``Resources``).

Values belong to *roots*: ``provide`` from any sub-component records the value for its root.
``require`` records a subscription and returns the list of values provided so far, in the
order the providing roots were configured (deterministic here: see ``configure``). A host
filter keeps only values from roots on that host (compared by identity, as in batou).

Everything is kept in insertion-ordered dicts and indexed by key and by root, so one root's
reset or one key's lookup never scans the whole registry.

Each ``provide`` and ``require`` may carry the (file, line) of the component code that called
it (a :data:`Site`), so an unused or unsatisfied resource can be reported at that line; the
first call of a root for a key is the one remembered. A dependency cycle is explained the same
way: :meth:`Resources.links` finds the subscriptions behind one edge of the graph, with their sites.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Site = tuple[str, int]  # (file, line) of the provide() / require() call in component code


@dataclass(frozen=True, eq=True)
class Subscription:
    root: Any
    strict: bool
    host: Any
    reverse: bool
    dirty: bool  # True: do not reconfigure me when this key's values change
    site: Site | None = field(default=None, compare=False)  # where require() was called

    def matches(self, host: Any) -> bool:
        return self.host is None or host is None or self.host is host


@dataclass(frozen=True)
class Link:
    """Why one root depends on another: ``requirer`` require()d ``key`` of ``provider``.

    With ``reverse`` the requirer is the root that deploys first (the edge is flipped)."""

    key: str
    requirer: Any
    provider: Any
    reverse: bool
    site: Site | None  # where the require() was called


class Resources:
    def __init__(self) -> None:
        # key -> {root: [values]}
        self.resources: dict[str, dict[Any, list[Any]]] = {}
        # key -> {subscription: None} (an ordered set). Like batou, subscriptions are never
        # dropped when a root is configured again.
        self.subscribers: dict[str, dict[Subscription, None]] = {}
        # root -> keys it provided (in order), each with where it was first provided
        self.provided_by: dict[Any, dict[str, Site | None]] = {}
        self.dirty_dependencies: dict[Any, None] = {}

    # -- recording ------------------------------------------------------------------------------

    def _subscriptions(self, key: str, host: Any) -> list[Subscription]:
        return [s for s in self.subscribers.get(key, ()) if s.matches(host)]

    def _mark_dirty(self, key: str, host: Any) -> None:
        for subscription in self._subscriptions(key, host):
            if not subscription.dirty:
                self.dirty_dependencies[subscription.root] = None

    def provide(self, root: Any, key: str, value: Any, site: Site | None = None) -> None:
        self.resources.setdefault(key, {}).setdefault(root, []).append(value)
        self.provided_by.setdefault(root, {}).setdefault(key, site)
        self._mark_dirty(key, root.host)

    def get(self, key: str, host: Any = None) -> list[Any]:
        """The values provided for ``key`` (on ``host``), without subscribing."""
        values: list[Any] = []
        for root, provided in self.resources.get(key, {}).items():
            if host is None or root.host is host:
                values.extend(provided)
        return values

    def require(
        self,
        root: Any,
        key: str,
        host: Any = None,
        strict: bool = True,
        reverse: bool = False,
        dirty: bool = False,
        site: Site | None = None,
    ) -> list[Any]:
        subscription = Subscription(root, strict, host, reverse, dirty, site)
        self.subscribers.setdefault(key, {}).setdefault(subscription, None)
        return self.get(key, host)

    def reset_component_resources(self, root: Any) -> None:
        """Forget what ``root`` provided (it is about to be configured again)."""
        for key in self.provided_by.pop(root, {}):
            providers = self.resources.get(key)
            if providers is None or root not in providers:
                continue
            del providers[root]
            if not providers:
                del self.resources[key]
            self._mark_dirty(key, root.host)

    # -- checks after configure -----------------------------------------------------------------

    def provided_at(self, root: Any, key: str) -> Site | None:
        """Where ``root`` first provided ``key``, if known."""
        return self.provided_by.get(root, {}).get(key)

    def required_at(self, root: Any, key: str) -> Site | None:
        """Where ``root`` first required ``key`` strictly, if known."""
        for subscription in self.subscribers.get(key, ()):
            if subscription.root is root and subscription.strict and subscription.site:
                return subscription.site
        return None

    def unused(self) -> dict[str, dict[Any, list[Any]]]:
        """Provided values nobody requires (host filters respected)."""
        unused: dict[str, dict[Any, list[Any]]] = {}
        for key, providers in self.resources.items():
            subscriptions = self.subscribers.get(key, {})
            if any(s.host is None for s in subscriptions):
                continue
            hosts = [s.host for s in subscriptions]
            left = {
                root: values
                for root, values in providers.items()
                if not any(root.host is host for host in hosts)
            }
            if left:
                unused[key] = left
        return unused

    def unsatisfied(self) -> list[tuple[str, Any]]:
        """(key, host or None) of strict requirements that nothing satisfies."""
        found: dict[tuple[str, Any], None] = {}
        for key, subscriptions in self.subscribers.items():
            if not any(s.strict for s in subscriptions):
                continue
            providers = self.resources.get(key)
            if not providers:
                found[(key, None)] = None
                continue
            for s in subscriptions:
                if s.host is None:
                    continue
                if not any(root.host is s.host for root in providers):
                    found[(key, s.host)] = None
                    break
        return list(found)

    def unsatisfied_requirers(self) -> dict[tuple[str, Any], list[Any]]:
        """The requiring roots of each unsatisfied (key, host), in subscription order."""
        result: dict[tuple[str, Any], list[Any]] = {}
        for key, host in self.unsatisfied():
            roots: dict[Any, None] = {}
            for s in self.subscribers.get(key, ()):
                if s.strict and (host is None or s.host is host):
                    roots[s.root] = None
            result[(key, host)] = list(roots)
        return result

    def unsatisfied_components(self) -> list[Any]:
        roots: dict[Any, None] = {}
        for requirers in self.unsatisfied_requirers().values():
            roots.update(dict.fromkeys(requirers))
        return list(roots)

    def links(self, root: Any, dependency: Any) -> list[Link]:
        """The subscriptions that make ``root`` depend on ``dependency`` (one per key and
        requiring root, in the order the keys were provided).

        Only the keys the two roots provide are looked at, so explaining a cycle costs little."""
        found: dict[tuple[str, Any], Link] = {}
        for requirer, provider, reverse in ((root, dependency, False), (dependency, root, True)):
            for key in self.provided_by.get(provider, ()):
                for s in self.subscribers.get(key, ()):
                    if s.root is not requirer or s.reverse is not reverse:
                        continue
                    if s.host is None or s.host is provider.host:
                        found.setdefault(
                            (key, requirer), Link(key, requirer, provider, reverse, s.site)
                        )
        return list(found.values())

    def dependency_graph(self) -> dict[Any, dict[Any, None]]:
        """root -> roots it depends on (that must deploy first)."""
        graph: dict[Any, dict[Any, None]] = {}
        for key, providers in self.resources.items():
            for s in self.subscribers.get(key, ()):
                for provider in providers:
                    if s.host is not None and s.host is not provider.host:
                        continue
                    if s.reverse:
                        graph.setdefault(provider, {})[s.root] = None
                    else:
                        graph.setdefault(s.root, {})[provider] = None
        return graph


__all__ = ["Link", "Resources", "Site", "Subscription"]
