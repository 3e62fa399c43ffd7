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


def trigger(source: Any, event: str, predict_only: bool, note: Callable[[str], None]) -> None:
    """Call the handlers of ``event`` in ``source``'s root; in predict mode only ``note`` them."""
    for target in source.root.component.recursive_sub_components:
        for handler in getattr(target, "_event_handlers", {}).get(event, ()):
            if not in_scope(handler._event["scope"], source, target):
                continue
            if predict_only:
                note(f"Trigger {event}: {handler.__self__!r}.{handler.__name__}")
                continue
            handler(source)


__all__ = ["collect_handlers", "handle_event", "in_scope", "trigger"]
