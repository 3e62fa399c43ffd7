"""The decrypted ``secrets.cfg``, read as batou reads it (with ConfigUpdater's rules).

* ``[batou]``: ``members`` (who the file is encrypted to) and ``secret_provider``.
* ``[host:NAME]``: host data; the first ``data-`` in a key is dropped (``data-token`` is
  ``host.data["token"]``), keys without it are taken as they are.
* any other section, ``[component:NAME]`` or plain ``[NAME]``: overrides for root component
  NAME, exactly like ``[component:NAME]`` in environment.cfg.

Keys are lower-cased (ConfigUpdater does that; environment.cfg keeps their case). No error
message here ever quotes a value: they end up in logs and run records.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from components_runtime.envconfig import CONFIG_UPDATER, ConfigValue, Origin, frozen_map, parse_ini
from components_runtime.errors import ConfigurationError, SecretsError

_MEMBER_SPLIT = re.compile(r"(?:\n|,)+")


@dataclass(frozen=True)
class SecretsConfig:
    """One decrypted secrets file. ``file`` is the encrypted file's path in the repository."""

    file: str
    overrides: Mapping[str, Mapping[str, ConfigValue]] = field(default_factory=frozen_map)
    override_origins: Mapping[str, Origin] = field(default_factory=frozen_map)
    host_data: Mapping[str, Mapping[str, ConfigValue]] = field(default_factory=frozen_map)
    host_origins: Mapping[str, Origin] = field(default_factory=frozen_map)
    members: tuple[str, ...] = ()
    provider: str | None = None
    errors: tuple[ConfigurationError, ...] = ()

    def values(self) -> list[str]:
        """Every secret value in the file (overrides and host data)."""
        found = [v.text for section in self.overrides.values() for v in section.values()]
        found += [v.text for section in self.host_data.values() for v in section.values()]
        return found


def split_members(text: str) -> tuple[str, ...]:
    """batou's ``members``: separated by commas or line breaks, blanks dropped."""
    return tuple(item.strip() for item in _MEMBER_SPLIT.split(text) if item.strip())


def parse_secrets(text: str, file: str) -> SecretsConfig:
    raw = parse_ini(text, file, CONFIG_UPDATER)
    errors: list[ConfigurationError] = [
        SecretsError(e.message, file=e.file, line=e.line, section=e.section, hint=e.hint)
        for e in raw.errors
    ]
    overrides: dict[str, dict[str, ConfigValue]] = {}
    override_origins: dict[str, Origin] = {}
    host_data: dict[str, dict[str, ConfigValue]] = {}
    host_origins: dict[str, Origin] = {}
    members: tuple[str, ...] = ()
    provider = None
    for section in raw.sections:
        origin = Origin(file, section.line, section.name)
        if section.name == "batou":
            member_option = section.get("members")
            members = split_members(member_option.value) if member_option else ()
            provider_option = section.get("secret_provider")
            provider = provider_option.value if provider_option else None
            continue
        values = {
            option.key: ConfigValue(option.value, Origin(file, option.line, section.name))
            for option in section.options
        }
        if section.name.startswith("host:"):
            host = section.name[len("host:") :]
            host_data[host] = {key.replace("data-", "", 1): v for key, v in values.items()}
            host_origins[host] = origin
        else:
            component = section.name.replace("component:", "")
            overrides[component] = values
            override_origins[component] = origin
    return SecretsConfig(
        file=file,
        overrides=frozen_map({k: frozen_map(v) for k, v in overrides.items()}),
        override_origins=frozen_map(override_origins),
        host_data=frozen_map({k: frozen_map(v) for k, v in host_data.items()}),
        host_origins=frozen_map(host_origins),
        members=members,
        provider=provider,
        errors=tuple(errors),
    )


__all__ = ["SecretsConfig", "parse_secrets", "split_members"]
