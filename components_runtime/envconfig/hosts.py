"""Interpret ``[hosts]`` and ``[host:NAME]`` into frozen ``HostConfig`` values."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from components_runtime.envconfig.parse import RawOption, RawSection, split_list
from components_runtime.envconfig.sections import Collector, did_you_mean, parse_bool
from components_runtime.envconfig.types import (
    ComponentRef,
    EnvironmentSettings,
    HostConfig,
    Origin,
    frozen_map,
)
from components_runtime.errors import DuplicateHostError

HOST_KEYS = ("components", "platform", "service_user", "require_sudo", "ignore", "provisioner")


def host_fqdn(name: str, host_domain: str | None) -> str:
    """``name.host_domain``, except that a name already ending in the domain keeps it once
    (batou 2.7 appends it unconditionally: ``web.example.com.example.com``)."""
    if not host_domain:
        return name
    if name.endswith("." + host_domain):
        return name
    return f"{name}.{host_domain}"


def resolve_platform(
    own: str | None, environment: str | None, host_domain: str | None
) -> str | None:
    """First match wins: the host's ``platform``, ``[environment] platform``, ``host_domain``."""
    if own is not None:
        return own
    if environment is not None:
        return environment
    return host_domain


def parse_components(option: RawOption, section: str, out: Collector) -> tuple[ComponentRef, ...]:
    """``[!]name[:feature]`` items; features are collected, ``!`` on any occurrence ignores."""
    items, mixing_error = split_list(option)
    if mixing_error:
        out.error(
            mixing_error,
            section,
            option.line,
            hint="Separate components either by commas or by one per line, not both.",
        )
    merged: dict[str, tuple[list[str], bool, int]] = {}
    for item in items:
        name, _, feature = item.text.partition(":")
        ignore = name.startswith("!")
        name = name.lstrip("!").strip()
        if not name:
            out.error(f"Empty component name in {item.text!r}", section, item.line)
            continue
        features, ignored, line = merged.setdefault(name, ([], False, item.line))
        if feature.strip():
            features.append(feature.strip())
        merged[name] = (features, ignored or ignore, line)
    return tuple(
        ComponentRef(name, tuple(features), ignore, out.origin(section, line))
        for name, (features, ignore, line) in merged.items()
    )


def read_hosts(
    hosts_section: RawSection | None,
    host_sections: list[RawSection],
    settings: EnvironmentSettings,
    out: Collector,
) -> dict[str, HostConfig]:
    hosts: dict[str, HostConfig] = {}

    def add(host: HostConfig) -> None:
        if host.name in hosts:
            first = hosts[host.name].origin
            out.error(
                f"Duplicate definition of host: {host.name} (first at {first})",
                host.origin.section,
                host.origin.line,
                hint="Define each host once, either in [hosts] or as [host:NAME].",
                kind=DuplicateHostError,
            )
            return
        hosts[host.name] = host

    if hosts_section is not None:
        for option in hosts_section.options:
            host = _single_section_host(option, hosts_section.name, settings, out)
            if host is not None:
                add(host)
    for section in host_sections:
        host = _multi_section_host(section, settings, out)
        if host is not None:
            add(host)
    return hosts


def _make_host(
    name: str,
    origin: Origin,
    settings: EnvironmentSettings,
    out: Collector,
    *,
    components: tuple[ComponentRef, ...],
    ignore: bool = False,
    data: Mapping[str, str] | None = None,
    aliases: tuple[str, ...] = (),
    own_platform: str | None = None,
    service_user: str | None = None,
    require_sudo: bool | None = None,
) -> HostConfig:
    if settings.host_domain and name.endswith("." + settings.host_domain):
        out.warn(
            f"Host {name!r} is written with its domain; deployd uses it as the FQDN "
            f"(batou 2.7 would append the domain a second time)",
            origin.section,
            origin.line,
            level="info",
        )
    return HostConfig(
        name=name,
        fqdn=host_fqdn(name, settings.host_domain),
        platform=resolve_platform(own_platform, settings.platform, settings.host_domain),
        own_platform=own_platform,
        service_user=service_user if service_user is not None else settings.service_user,
        require_sudo=require_sudo if require_sudo is not None else settings.require_sudo,
        ignore=ignore,
        data=frozen_map(data),
        aliases=aliases,
        components=components,
        origin=origin,
    )


def _single_section_host(
    option: RawOption, section: str, settings: EnvironmentSettings, out: Collector
) -> HostConfig | None:
    name = option.key.lstrip("!")
    if not name:
        out.error("A host in [hosts] has no name", section, option.line)
        return None
    return _make_host(
        name,
        out.origin(section, option.line),
        settings,
        out,
        ignore=option.key.startswith("!"),
        components=parse_components(option, section, out),
    )


def _multi_section_host(
    section: RawSection, settings: EnvironmentSettings, out: Collector
) -> HostConfig | None:
    name = section.name[len("host:") :].strip()
    if not name:
        out.error("A [host:] section without a host name", section.name, section.line)
        return None
    fields: dict[str, Any] = {}
    data: dict[str, str] = {}
    components = section.get("components")
    if components is None:
        out.error(
            f"Host {name} has no components key",
            section.name,
            section.line,
            hint="Add `components = ...` listing the root components of this host.",
        )
    for option in section.options:
        _read_host_option(option, section.name, fields, data, out)
    refs = parse_components(components, section.name, out) if components else ()
    if components is not None and not refs:
        out.warn(f"Host {name} has an empty component list", section.name, components.line)
    return _make_host(
        name,
        out.origin(section.name, section.line),
        settings,
        out,
        data=data,
        components=refs,
        **fields,
    )


def _read_host_option(
    option: RawOption, section: str, fields: dict[str, Any], data: dict[str, str], out: Collector
) -> None:
    key = option.key
    if key == "components":
        return
    if key == "platform":
        fields["own_platform"] = option.value
    elif key == "service_user":
        fields["service_user"] = option.value
    elif key in ("require_sudo", "ignore"):
        value = parse_bool(option, section, out)
        if value is not None:
            fields[key] = value
    elif key.startswith("data-"):
        data[key[len("data-") :]] = option.value
    elif key == "provision-aliases":
        fields["aliases"] = tuple(option.value.split())
    elif key == "provisioner" or key.startswith("provision-"):
        out.warn(
            f"{key} is only used by batou's provisioners; deployd ignores it",
            section,
            option.line,
            level="info",
        )
    else:
        out.warn(
            f"Unknown key {key!r} in [{section}] is ignored",
            section,
            option.line,
            hint=did_you_mean(key, HOST_KEYS) or "Host data keys start with data-.",
        )
