"""``batou.component``: re-exports of the component model."""

from components_runtime.engine import ComponentDefinition
from components_runtime.model import (
    NO_DEFAULT,
    Attribute,
    Component,
    ConfigString,
    HookComponent,
    RootComponent,
    handle_event,
    platform,
)
from components_runtime.model import in_scope as check_event_scope
from components_runtime.support import generated_header as batou_generated_header

__all__ = [
    "NO_DEFAULT",
    "Attribute",
    "Component",
    "ComponentDefinition",
    "ConfigString",
    "HookComponent",
    "RootComponent",
    "batou_generated_header",
    "check_event_scope",
    "handle_event",
    "platform",
]
