"""``batou.component``: re-exports of the component model."""

from components_runtime.attribute import NO_DEFAULT, Attribute, ConfigString
from components_runtime.component import Component, HookComponent, RootComponent
from components_runtime.events import handle_event
from components_runtime.events import in_scope as check_event_scope
from components_runtime.loader import ComponentDefinition
from components_runtime.platforms import platform
from components_runtime.template import generated_header as batou_generated_header

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
