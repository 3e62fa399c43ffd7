"""Load the repository's components, configure the environment, converge this host."""

from components_runtime.engine.configure import FOREIGN_HOST, ConfigureResult, configure_environment
from components_runtime.engine.converge import converge_host, deploy_component
from components_runtime.engine.loader import ComponentDefinition, LoadResult, load_components

__all__ = [
    "ComponentDefinition",
    "FOREIGN_HOST",
    "ConfigureResult",
    "configure_environment",
    "converge_host",
    "deploy_component",
    "load_components",
    "LoadResult",
]
