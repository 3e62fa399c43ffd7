"""Platform components: ``@platform(name, Base)`` registers a class that is added as the last
sub-component of every ``Base`` instance on a host whose platform is exactly ``name``.

The registry lives in the base class's own ``__dict__`` (``_platforms``), so subclasses of
``Base`` do not inherit it: batou looks up the exact class, and so do we.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def add_platform(base: type, name: str, component: type) -> None:
    if "_platforms" not in base.__dict__:
        base._platforms = {}  # type: ignore[attr-defined]
    base.__dict__["_platforms"][name] = component


def platform(name: str, component: type) -> Callable[[type], type]:
    """Class decorator: register the decorated class as ``component``'s platform ``name``."""

    def register(cls: type) -> type:
        add_platform(component, name, cls)
        return cls

    return register


def platform_component_for(component: Any) -> Any:
    """A fresh instance of the platform component for ``component``'s host, or None."""
    registry = type(component).__dict__.get("_platforms")
    if not registry:
        return None
    factory = registry.get(getattr(component.host, "platform", None))
    return factory() if factory is not None else None


__all__ = ["add_platform", "platform", "platform_component_for"]
