"""The resource registry on its own (batou's test_resources.py behaviours)."""

from __future__ import annotations

from components_runtime.model.resources import Resources


class Thing:
    """A host or a root: hashed by identity, like the real ones."""

    def __init__(self, name: str, host: object = None) -> None:
        self.name, self.host = name, host


HOST1, HOST2 = Thing("host1"), Thing("host2")


def root(name: str, host: object = HOST1) -> Thing:
    return Thing(name, host)


def test_reset_marks_subscribers_dirty_except_dirty_ones() -> None:
    resources = Resources()
    provider, clean, dirty = root("p"), root("clean"), root("dirty")
    resources.provide(provider, "key", 1)
    resources.require(clean, "key")
    resources.require(dirty, "key", dirty=True)
    resources.dirty_dependencies.clear()
    resources.reset_component_resources(provider)
    assert list(resources.dirty_dependencies) == [clean]
    assert resources.get("key") == []


def test_host_specific_unsatisfied_requirement_names_its_requirers() -> None:
    resources = Resources()
    resources.provide(root("p", HOST1), "key", 1)
    requirer = root("r", HOST2)
    resources.require(requirer, "key", host=HOST2)
    assert resources.unsatisfied() == [("key", HOST2)]
    assert resources.unsatisfied_requirers() == {("key", HOST2): [requirer]}
    assert resources.unused() == {"key": {resources_root(resources): [1]}}


def resources_root(resources: Resources) -> object:
    [provider] = resources.resources["key"]
    return provider


def test_values_come_in_provider_order_and_filter_by_host() -> None:
    resources = Resources()
    resources.provide(root("b", HOST2), "key", "b")
    resources.provide(root("a", HOST1), "key", "a")
    assert resources.require(root("x"), "key") == ["b", "a"]
    assert resources.require(root("x"), "key", host=HOST1) == ["a"]


def test_dependency_graph_edges_and_reverse() -> None:
    resources = Resources()
    provider, requirer, reverse = root("p"), root("r"), root("v")
    resources.provide(provider, "key", 1)
    resources.require(requirer, "key")
    resources.require(reverse, "key", reverse=True)
    graph = resources.dependency_graph()
    assert list(graph[requirer]) == [provider]
    assert list(graph[provider]) == [reverse]
