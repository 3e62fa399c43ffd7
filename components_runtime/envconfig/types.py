"""The frozen values ``load_environment_config`` returns; each remembers where it came from."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Literal

from components_runtime.errors import ConfigurationError

AddressRequirement = bool | Literal["optional"]


def frozen_map(items: Mapping[str, object] | None = None) -> Mapping:  # type: ignore[type-arg]
    return MappingProxyType(dict(items or {}))


@dataclass(frozen=True)
class Origin:
    """Where a value was written. ``file`` is relative to the repository (the env's base dir)."""

    file: str
    line: int | None = None
    section: str | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where} [{self.section}]" if self.section else where


@dataclass(frozen=True)
class ConfigValue:
    """A raw string value as written, with its origin."""

    text: str
    origin: Origin


@dataclass(frozen=True)
class ConfigWarning:
    """Something worth telling the user that does not stop the run.

    ``level`` is ``"info"`` for keys a pull daemon simply does not need (``connect_method``, ...)
    and ``"warning"`` for things that are probably a mistake (an unknown key).
    """

    message: str
    origin: Origin
    level: Literal["info", "warning"] = "warning"
    hint: str | None = None


@dataclass(frozen=True)
class ComponentRef:
    """One root component in a host's list: ``[!]name[:feature]`` merged over all occurrences."""

    name: str
    features: tuple[str, ...]
    ignore: bool
    origin: Origin


@dataclass(frozen=True)
class HostConfig:
    """One host of the environment, as component code later sees it through ``self.host``.

    ``platform`` is already resolved (host ``platform`` > ``[environment] platform`` >
    ``host_domain``); ``own_platform`` is the host section's own key, for callers that apply a
    platform given on the command line (it ranks between the two).
    """

    name: str
    fqdn: str
    platform: str | None
    own_platform: str | None
    service_user: str | None
    require_sudo: bool | None
    ignore: bool
    data: Mapping[str, str]
    aliases: tuple[str, ...]
    components: tuple[ComponentRef, ...]
    origin: Origin

    def component(self, name: str) -> ComponentRef | None:
        for ref in self.components:
            if ref.name == name:
                return ref
        return None


@dataclass(frozen=True)
class EnvironmentSettings:
    """``[environment]``. ``None`` means "not set"; defaults are applied by whoever uses them.

    ``values`` keeps every key as written (also the push-only and unknown ones) with its origin.
    """

    platform: str | None = None
    host_domain: str | None = None
    service_user: str | None = None
    require_sudo: bool | None = None
    require_v4: AddressRequirement = True
    require_v6: AddressRequirement = False
    branch: str | None = None
    timeout: int | None = None  # batou's pip/network timeout; informational in deployd
    jobs: int | None = None
    values: Mapping[str, ConfigValue] = field(default_factory=frozen_map)

    def origin_of(self, key: str) -> Origin | None:
        value = self.values.get(key)
        return value.origin if value else None


@dataclass(frozen=True)
class VfsConfig:
    """``[vfs]``: ``sandbox`` is ``"Developer"`` or ``"Map"``; ``rules`` are Map's prefix rules."""

    sandbox: Literal["Developer", "Map"]
    rules: tuple[tuple[str, str], ...]
    origin: Origin


@dataclass(frozen=True)
class EnvironmentConfig:
    name: str
    base_dir: Path
    file: Path  # absolute path of the environment.cfg that was read
    settings: EnvironmentSettings
    hosts: Mapping[str, HostConfig]  # by name, in file order ([hosts] first, then [host:*])
    overrides: Mapping[str, Mapping[str, ConfigValue]]  # [component:NAME] -> key -> raw value
    resolver_v4: Mapping[str, str]
    resolver_v6: Mapping[str, str]
    vfs: VfsConfig | None
    errors: tuple[ConfigurationError, ...]
    warnings: tuple[ConfigWarning, ...]
    layout: Literal["directory", "flat"] = "directory"
    override_origins: Mapping[str, Origin] = field(default_factory=frozen_map)  # section lines
    # [deployd]: deployd-only keys (time limits, see docs/timeouts.md), raw, validated by the daemon
    deployd: Mapping[str, ConfigValue] = field(default_factory=frozen_map)

    @property
    def ok(self) -> bool:
        return not self.errors

    def override_strings(self, component: str) -> dict[str, str]:
        """The ``[component:NAME]`` overrides as plain strings (what batou stores)."""
        return {key: value.text for key, value in self.overrides.get(component, {}).items()}
