"""``batou.component``: re-exports of the component model."""

from components_runtime.engine.loader import ComponentDefinition
from components_runtime.model.attribute import NO_DEFAULT, Attribute, ConfigString
from components_runtime.model.component import Component, HookComponent, RootComponent
from components_runtime.model.events import handle_event
from components_runtime.model.events import in_scope as check_event_scope
from components_runtime.model.platforms import platform
from components_runtime.support.template import generated_header as batou_generated_header

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
