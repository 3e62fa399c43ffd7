"""The component model user code sees: Component, Attribute, roots, environment, resources."""

from components_runtime.model.attribute import NO_DEFAULT, Attribute, ConfigString
from components_runtime.model.component import TRACKED_INSTANCES, Component, HookComponent
from components_runtime.model.component_helpers import working_directory
from components_runtime.model.environment import BagOfAttributes, Environment, Host
from components_runtime.model.events import handle_event, in_scope
from components_runtime.model.events import trigger as trigger_event
from components_runtime.model.platforms import platform
from components_runtime.model.resolver import (
    Address,
    NetLoc,
    install_overrides,
    resolve,
    resolve_v6,
    set_address_defaults,
)
from components_runtime.model.resources import Link, Resources
from components_runtime.model.roots import RootComponent
from components_runtime.model.vfs import build_mapper

__all__ = [
    "Address",
    "Attribute",
    "BagOfAttributes",
    "build_mapper",
    "Component",
    "ConfigString",
    "Environment",
    "handle_event",
    "HookComponent",
    "Host",
    "in_scope",
    "install_overrides",
    "Link",
    "NetLoc",
    "NO_DEFAULT",
    "platform",
    "resolve",
    "resolve_v6",
    "Resources",
    "RootComponent",
    "set_address_defaults",
    "TRACKED_INSTANCES",
    "trigger_event",
    "working_directory",
]
