"""``environment.cfg``: a line-tracking reader, frozen sections, host selection."""

from components_runtime.envconfig.load import load_environment_config, validate_component_names
from components_runtime.envconfig.sections import did_you_mean
from components_runtime.envconfig.this_host import select_host
from components_runtime.envconfig.types import (
    ConfigValue,
    EnvironmentConfig,
    EnvironmentSettings,
    HostConfig,
    Origin,
    VfsConfig,
    frozen_map,
)

__all__ = [
    "ConfigValue",
    "EnvironmentSettings",
    "frozen_map",
    "Origin",
    "EnvironmentConfig",
    "HostConfig",
    "did_you_mean",
    "load_environment_config",
    "select_host",
    "validate_component_names",
    "VfsConfig",
]
