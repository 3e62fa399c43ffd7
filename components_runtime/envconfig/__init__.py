"""``environment.cfg``: a line-tracking reader, frozen sections, host selection."""

from components_runtime.envconfig.load import load_environment_config, validate_component_names
from components_runtime.envconfig.parse import CONFIG_UPDATER, IniDialect, parse_ini
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
    "CONFIG_UPDATER",
    "ConfigValue",
    "EnvironmentSettings",
    "IniDialect",
    "Origin",
    "EnvironmentConfig",
    "HostConfig",
    "did_you_mean",
    "frozen_map",
    "parse_ini",
    "load_environment_config",
    "select_host",
    "validate_component_names",
    "VfsConfig",
]
