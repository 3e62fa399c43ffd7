"""Pick this machine's host out of an environment.

``select_host`` is pure apart from asking the OS for its names when none are given. It returns
ignored hosts too (``HostConfig.ignore``); deciding what an ignored host converges is the
caller's job. Platform and FQDN rules live in ``envconfig_hosts`` and are re-exported here.
"""

from __future__ import annotations

import socket

from components_runtime.envconfig.hosts import host_fqdn, resolve_platform
from components_runtime.envconfig.types import ComponentRef, EnvironmentConfig, HostConfig
from components_runtime.errors import HostSelectionError

__all__ = [
    "ComponentRef",
    "HostConfig",
    "host_fqdn",
    "machine_names",
    "resolve_platform",
    "select_host",
]


def machine_names(hostname: str | None = None, fqdn: str | None = None) -> tuple[str, ...]:
    """This machine's names in the order they are tried: short name, full host name, FQDN."""
    full = hostname if hostname is not None else socket.gethostname()
    fqdn = fqdn if fqdn is not None else socket.getfqdn()
    names: list[str] = []
    for name in (full.split(".")[0], full, fqdn):
        if name and name not in names:
            names.append(name)
    return tuple(names)


def select_host(
    config: EnvironmentConfig,
    requested: str | None,
    hostname: str | None = None,
    fqdn: str | None = None,
) -> HostConfig:
    """The host to converge.

    With ``requested`` (``--host``): the host of that name, or the one whose FQDN it is.
    Without: the host named like this machine (short name first, then the FQDN), or a host
    written as an FQDN that equals this machine's short name plus ``host_domain``.
    """
    if requested is not None:
        candidates: tuple[str, ...] = (requested,)
    else:
        candidates = machine_names(hostname, fqdn)
    host = _match(config, candidates)
    if host is None:
        # DNS names are case-insensitive; a machine called "Web01" is section "web01".
        host = _match_ignoring_case(config, candidates)
    if host is not None:
        return host
    raise _not_found(config, requested, candidates)


def _match(config: EnvironmentConfig, candidates: tuple[str, ...]) -> HostConfig | None:
    hosts = config.hosts
    domain = config.settings.host_domain
    for candidate in candidates:
        if candidate in hosts:
            return hosts[candidate]
    for candidate in candidates:
        for host in hosts.values():
            if host.fqdn == candidate:
                return host
    if domain:
        for candidate in candidates:
            written = host_fqdn(candidate, domain)
            if written in hosts:
                return hosts[written]
    return None


def _match_ignoring_case(
    config: EnvironmentConfig, candidates: tuple[str, ...]
) -> HostConfig | None:
    wanted = [candidate.lower() for candidate in candidates]
    for candidate in wanted:
        for host in config.hosts.values():
            if candidate in (host.name.lower(), host.fqdn.lower()):
                return host
    return None


def _not_found(
    config: EnvironmentConfig, requested: str | None, candidates: tuple[str, ...]
) -> HostSelectionError:
    existing = ", ".join(config.hosts) or "(none)"
    if requested is not None:
        message = f"Host {requested!r} is not in environment {config.name!r}"
        hint = f"Hosts in this environment: {existing}."
    else:
        message = (
            f"This machine ({', '.join(candidates)}) is not a host of environment {config.name!r}"
        )
        hint = f"Hosts in this environment: {existing}. Pick one with --host NAME."
    return HostSelectionError(
        message, file=str(config.file.relative_to(config.base_dir)), host=requested, hint=hint
    )
