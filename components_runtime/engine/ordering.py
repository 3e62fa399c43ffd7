"""Ordering roots by their dependencies: a stable topological sort and readable cycles.

``graph`` maps a node to the nodes it depends on (which must come first). Ties are broken by
``rank`` (the environment's config order), so the same repository always deploys in the same
order, unlike batou whose order depends on set iteration.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Any, TypeVar

N = TypeVar("N", bound=Hashable)


def stable_topological_sort(
    nodes: Iterable[N], graph: Mapping[N, Iterable[N]], rank: Callable[[N], Any]
) -> tuple[list[N], list[list[N]]]:
    """(order, cycles). Nodes in a cycle (and what depends on them) are left out of ``order``."""
    known = dict.fromkeys(nodes)
    for node, dependencies in graph.items():
        known.setdefault(node, None)
        for dependency in dependencies:
            known.setdefault(dependency, None)
    waiting = {node: 0 for node in known}
    dependents: dict[N, list[N]] = {node: [] for node in known}
    for node, dependencies in graph.items():
        for dependency in dict.fromkeys(dependencies):
            waiting[node] += 1
            dependents[dependency].append(node)
    position = {node: index for index, node in enumerate(known)}
    ready = [(rank(node), position[node], node) for node in known if waiting[node] == 0]
    heapq.heapify(ready)
    order: list[N] = []
    while ready:
        _, _, node = heapq.heappop(ready)
        order.append(node)
        for dependent in dependents[node]:
            waiting[dependent] -= 1
            if waiting[dependent] == 0:
                heapq.heappush(ready, (rank(dependent), position[dependent], dependent))
    cycles = find_cycles(graph, rank) if len(order) < len(known) else []
    return order, cycles


def find_cycles(graph: Mapping[N, Iterable[N]], rank: Callable[[N], Any]) -> list[list[N]]:
    """One concrete cycle per strongly connected component (self-loops included).

    Each cycle starts at its lowest-ranked node and lists nodes so that each depends on the
    next; the last depends on the first."""
    edges = {node: sorted(dict.fromkeys(deps), key=rank) for node, deps in graph.items()}
    index: dict[N, int] = {}
    low: dict[N, int] = {}
    stack: list[N] = []
    on_stack: set[N] = set()
    components: list[list[N]] = []

    def visit(start: N) -> None:  # iterative Tarjan
        work = [(start, iter(edges.get(start, ())))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(edges.get(child, ()))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                members = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    members.append(member)
                    if member is node or member == node:
                        break
                if len(members) > 1 or node in edges.get(node, ()):
                    components.append(members)

    for node in sorted(edges, key=rank):
        if node not in index:
            visit(node)
    return sorted((_cycle_path(set(c), edges, rank) for c in components), key=lambda c: rank(c[0]))


def _cycle_path(members: set[N], edges: Mapping[N, list[N]], rank: Callable[[N], Any]) -> list[N]:
    """A simple cycle through the component's lowest-ranked node (breadth-first, shortest)."""
    start = min(members, key=rank)
    if start in edges.get(start, ()):
        return [start]
    previous: dict[N, N] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for child in edges.get(node, ()):
                if child not in members:
                    continue
                if child == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return list(reversed(path))
                if child not in previous:
                    previous[child] = node
                    following.append(child)
        frontier = following
    return sorted(members, key=rank)


__all__ = ["find_cycles", "stable_topological_sort"]
