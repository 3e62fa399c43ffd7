"""The ``Environment`` and ``Host`` objects component code sees (``self.environment``,
``self.host``), built from the frozen ``envconfig.EnvironmentConfig``.

These are live objects on purpose: ``require(host=...)`` compares hosts by identity, and
``environment.resources`` is the registry the configure pass fills. Everything else on them is
plain data copied from the configuration.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from components_runtime.envconfig import EnvironmentConfig, HostConfig
from components_runtime.model.resources import Resources


class BagOfAttributes(dict):  # type: ignore[type-arg]
    """A dict whose keys are also attributes (batou's ``host.aliases``)."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


class Host:
    """One host of the environment (batou's ``Host`` without the remoting parts)."""

    def __init__(self, config: HostConfig, environment: Environment) -> None:
        self.name: str = config.name
        self.fqdn: str = config.fqdn
        self.platform: str | None = config.platform
        self.service_user = config.service_user
        self.require_sudo = config.require_sudo
        self.ignore = config.ignore
        self.data: dict[str, str] = dict(config.data)
        # batou fills aliases only from a provisioner (alias -> public FQDN); deployd has none.
        self.aliases = BagOfAttributes()
        self.environment = environment
        self.components: dict[str, Any] = {}  # root name -> RootComponent on this host
        self.config = config

    def __repr__(self) -> str:
        return f"<Host {self.name}>"


class Environment:
    """The runtime environment: hosts, overrides, settings, resources and path mapping."""

    def __init__(
        self,
        config: EnvironmentConfig,
        deployment_root: str,
        mapper: Callable[[str], str] | None = None,
    ) -> None:
        settings = config.settings
        self.config = config
        self.name: str = config.name
        self.base_dir: str = str(config.base_dir)
        self.deployment_root = deployment_root
        self.workdir_base = os.path.join(deployment_root, "work")
        self.deployment_base = "."
        self.target_directory = self.base_dir
        self.connect_method = "local"
        self.service_user = settings.service_user
        self.host_domain = settings.host_domain
        self.platform = settings.platform
        self.require_sudo = settings.require_sudo
        self.require_v4 = settings.require_v4
        self.require_v6 = settings.require_v6
        self.timeout = settings.timeout if settings.timeout is not None else 3
        self.jobs = settings.jobs or 1
        self.branch = settings.branch
        self.overrides: dict[str, dict[str, str]] = {
            name: config.override_strings(name) for name in config.overrides
        }
        self.secret_data: set[str] = set()
        self.secret_files: dict[str, str] = {}
        # components_runtime.secrets.SecretGuard once the run's secrets are applied: it hides
        # every diff that holds a secret value anywhere
        self.secret_guard: Any = None
        self.exceptions: list[Exception] = []
        self.resources = Resources()
        self.root_components: list[Any] = []
        self._mapper = mapper
        self.hosts: dict[str, Host] = {
            name: Host(host_config, self) for name, host_config in config.hosts.items()
        }

    # -- batou's API ----------------------------------------------------------------------------

    def map(self, path: str) -> str:
        return self._mapper(path) if self._mapper is not None else path

    def get_host(self, hostname: str) -> Host:
        return self.hosts[hostname]

    def get_root(self, component_name: str, hostname: str) -> Any:
        for root in self.root_components:
            if root.name == component_name and root.host.name == hostname:
                return root
        raise KeyError(f"Component {component_name} not configured for host {hostname}")

    def components_for(self, host: Host) -> dict[str, Any]:
        return {root.name: root for root in self.root_components if root.host is host}

    def __repr__(self) -> str:
        return f"<Environment {self.name}>"


__all__ = ["BagOfAttributes", "Environment", "Host"]
