"""Interpret the sections of ``environment.cfg`` other than the hosts: ``[environment]``,
``[component:X]``, ``[resolver]``, ``[vfs]``. Pure functions over the raw parse; problems go to a
``Collector`` so that every problem of a file is reported together.
"""

from __future__ import annotations

import difflib
import ipaddress
from collections.abc import Iterable, Mapping
from typing import Literal

from components_runtime.envconfig.parse import RawOption, RawSection
from components_runtime.envconfig.types import (
    AddressRequirement,
    ConfigValue,
    ConfigWarning,
    EnvironmentSettings,
    Origin,
    VfsConfig,
    frozen_map,
)
from components_runtime.errors import (
    EnvironmentConfigError,
    InvalidIPAddressError,
)

ENVIRONMENT_KEYS = (
    "platform",
    "host_domain",
    "service_user",
    "require_sudo",
    "require_v4",
    "require_v6",
    "branch",
    "timeout",
    "jobs",
)
# batou's push machinery; a pull daemon has no use for them.
PUSH_ONLY_KEYS = (
    "connect_method",
    "update_method",
    "target_directory",
    "repository_url",
    "repository_root",
)
_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}
SANDBOXES: tuple[Literal["Developer", "Map"], ...] = ("Developer", "Map")


class Collector:
    """Errors and warnings of one file, in the order they were found."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.errors: list[EnvironmentConfigError] = []
        self.warnings: list[ConfigWarning] = []

    def origin(self, section: str | None, line: int | None) -> Origin:
        return Origin(self.file, line, section)

    def error(
        self,
        message: str,
        section: str | None,
        line: int | None,
        hint: str | None = None,
        kind: type[EnvironmentConfigError] = EnvironmentConfigError,
    ) -> None:
        self.errors.append(kind(message, file=self.file, line=line, section=section, hint=hint))

    def warn(
        self,
        message: str,
        section: str | None,
        line: int | None,
        hint: str | None = None,
        level: Literal["info", "warning"] = "warning",
    ) -> None:
        self.warnings.append(ConfigWarning(message, self.origin(section, line), level, hint))


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    choices = list(choices)
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.75)
    if not close and word.lower() in choices:
        close = [word.lower()]
    return f"Did you mean {close[0]!r}?" if close else None


def parse_bool(option: RawOption, section: str, out: Collector) -> bool | None:
    text = option.value.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    out.error(
        f"{option.key} must be True or False, not {option.value!r}",
        section,
        option.line,
        hint="Write True or False.",
    )
    return None


def parse_address_requirement(
    option: RawOption, section: str, out: Collector, default: bool
) -> AddressRequirement:
    if option.value.strip() == "optional":
        return "optional"
    value = parse_bool(option, section, out)
    return default if value is None else value


def parse_int(option: RawOption, section: str, out: Collector) -> int | None:
    try:
        return int(option.value.strip())
    except ValueError:
        message = f"{option.key} must be a whole number, not {option.value!r}"
        out.error(message, section, option.line)
        return None


def read_environment(section: RawSection | None, out: Collector) -> EnvironmentSettings:
    if section is None:
        return EnvironmentSettings()
    name = section.name
    found: dict[str, object] = {}
    for option in section.options:
        key = option.key
        if key in ("require_sudo",):
            found[key] = parse_bool(option, name, out)
        elif key in ("require_v4", "require_v6"):
            found[key] = parse_address_requirement(option, name, out, key == "require_v4")
        elif key in ("timeout", "jobs"):
            found[key] = parse_int(option, name, out)
        elif key in ENVIRONMENT_KEYS:
            found[key] = option.value
        elif key in PUSH_ONLY_KEYS:
            out.warn(
                f"{key} is only used by batou's push deployment; deployd ignores it",
                name,
                option.line,
                level="info",
            )
        else:
            out.warn(
                f"Unknown key {key!r} in [environment] is ignored",
                name,
                option.line,
                hint=did_you_mean(key, ENVIRONMENT_KEYS + PUSH_ONLY_KEYS),
            )
    values = {o.key: ConfigValue(o.value, out.origin(name, o.line)) for o in section.options}
    return EnvironmentSettings(**found, values=frozen_map(values))  # type: ignore[arg-type]


def read_overrides(section: RawSection, out: Collector) -> Mapping[str, ConfigValue]:
    return frozen_map(
        {o.key: ConfigValue(o.value, out.origin(section.name, o.line)) for o in section.options}
    )


def read_resolver(
    section: RawSection | None, out: Collector
) -> tuple[Mapping[str, str], Mapping[str, str]]:
    """``hostname = address`` lines. The family is guessed the way batou guesses it (a ``.``
    means IPv4, a ``:`` IPv6); the last address of each family wins."""
    v4: dict[str, str] = {}
    v6: dict[str, str] = {}
    if section is None:
        return frozen_map(), frozen_map()
    for option in section.options:
        for index, text in enumerate(option.value.split("\n")):
            address = text.strip()
            if not address:
                continue
            line = option.value_lines[index]
            family = v4 if "." in address else v6 if ":" in address else None
            if family is None or not _is_ip_address(address):
                out.error(
                    f"Not a valid IP address for {option.key!r}: {address!r}",
                    section.name,
                    line,
                    hint="Write one IPv4 or IPv6 address per line.",
                    kind=InvalidIPAddressError,
                )
                continue
            family[option.key] = address
    return frozen_map(v4), frozen_map(v6)


def _is_ip_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def read_vfs(section: RawSection | None, out: Collector) -> VfsConfig | None:
    if section is None:
        return None
    origin = out.origin(section.name, section.line)
    sandbox = section.get("sandbox")
    if sandbox is None:
        out.error(
            "[vfs] has no sandbox key",
            section.name,
            section.line,
            hint="Add `sandbox = Developer` or `sandbox = Map`.",
        )
        return None
    if sandbox.value not in SANDBOXES:
        out.error(
            f"Unknown sandbox {sandbox.value!r}",
            section.name,
            sandbox.line,
            hint=did_you_mean(sandbox.value, SANDBOXES) or "Use Developer or Map.",
        )
        return None
    kind = next(s for s in SANDBOXES if s == sandbox.value)
    rules = []
    for option in section.options:
        if option.key == "sandbox":
            continue
        if kind == "Map" and option.key.startswith("/"):
            rules.append((option.key, option.value))
        else:
            out.warn(
                f"[vfs] key {option.key!r} has no effect with sandbox = {kind}",
                section.name,
                option.line,
            )
    # Longest prefix first; equal lengths keep file order (batou sorts stably the same way).
    rules.sort(key=lambda rule: len(rule[0]), reverse=True)
    return VfsConfig(kind, tuple(rules), origin)
