"""Component events: ``@handle_event(event, scope)`` and the ``before-update`` trigger.

batou fires one event, ``before-update``, on a component right before its ``update()`` runs
(or would run, when predicting). Every component of the same root (depth-first, in ``+=``
order, the root's own component excluded, as in batou) whose handler scope matches is told:
``"*"`` always, ``"precursor"`` only when the triggering component comes earlier in that order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

SCOPES = ("*", "precursor")


def handle_event(event: str, scope: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a method as a handler of ``event`` for components in ``scope``."""
    # An unknown scope is reported when the event fires, as in batou: a repository that
    # never fires it must keep loading.

    def mark(method: Callable[..., Any]) -> Callable[..., Any]:
        method._event = {"event": event, "scope": scope}  # type: ignore[attr-defined]
        return method

    return mark


_HANDLER_NAMES: dict[type, tuple[tuple[str, str], ...]] = {}


def _handler_names(cls: type) -> tuple[tuple[str, str], ...]:
    """(event, attribute name) of every marked method of ``cls``, computed once per class."""
    cached = _HANDLER_NAMES.get(cls)
    if cached is not None:
        return cached
    found: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        for name, value in vars(klass).items():
            marker = getattr(value, "_event", None)
            if isinstance(marker, dict):
                found[name] = marker["event"]
            elif name in found:
                del found[name]  # overridden without the marker
    result = _HANDLER_NAMES[cls] = tuple(sorted((event, name) for name, event in found.items()))
    return result


def collect_handlers(component: Any) -> dict[str, list[Callable[..., Any]]]:
    handlers: dict[str, list[Callable[..., Any]]] = {}
    for event, name in _handler_names(type(component)):
        handlers.setdefault(event, []).append(getattr(component, name))
    return handlers


def in_scope(scope: str, source: Any, target: Any) -> bool:
    if scope == "*":
        return True
    if scope == "precursor":
        for candidate in source.root.component.recursive_sub_components:
            if candidate is target:
                return False
            if candidate is source:
                return True
        return False
    raise ValueError(f"Unknown event scope: {scope}")


class _RootIndex:
    """Per root tree, built once on the first trigger: the depth-first position of every
    component and the (position, target, handlers) of those that handle events at all. An
    update then costs one lookup, not a walk over the whole tree (quadratic for big roots)."""

    def __init__(self, top: Any) -> None:
        self.position: dict[int, int] = {}
        self.handling: list[tuple[int, Any, dict[str, list[Any]]]] = []  # bound methods
        for index, component in enumerate(top.recursive_sub_components):
            first = self.position.setdefault(id(component), index)
            handlers = getattr(component, "_event_handlers", None)
            if handlers:
                self.handling.append((first, component, handlers))


def _index(top: Any) -> _RootIndex:
    index = top.__dict__.get("_deployd_event_index")
    if not isinstance(index, _RootIndex):
        index = top.__dict__["_deployd_event_index"] = _RootIndex(top)
    return index


def trigger(source: Any, event: str, predict_only: bool, note: Callable[[str], None]) -> None:
    """Call the handlers of ``event`` in ``source``'s root; in predict mode only ``note`` them."""
    index = _index(source.root.component)
    if not index.handling:
        return
    source_position = index.position.get(id(source))
    for target_position, _target, handlers in index.handling:
        for handler in handlers.get(event, ()):
            scope = handler._event["scope"]
            if scope == "precursor":
                # batou: the source must come before the target in depth-first order.
                if source_position is None or source_position >= target_position:
                    continue
            elif scope != "*":
                raise ValueError(f"Unknown event scope: {scope}")
            if predict_only:
                note(f"Trigger {event}: {handler.__self__!r}.{handler.__name__}")
                continue
            handler(source)


__all__ = ["collect_handlers", "handle_event", "in_scope", "trigger"]
