"""Build a runtime environment and roots without a repository (for tests, like batou's
``root`` fixture). Not used by deployd itself.

    root = make_root(MyComponent, tmp_path)
    root.prepare()            # configure
    root.component.deploy()   # verify / update
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from components_runtime.envconfig import (
    ConfigValue,
    EnvironmentConfig,
    EnvironmentSettings,
    HostConfig,
    Origin,
    frozen_map,
)
from components_runtime.model import Environment, RootComponent


def make_environment(
    base_dir: Path | str,
    hosts: dict[str, str | None] | None = None,
    *,
    name: str = "test",
    deployment_root: Path | str | None = None,
    overrides: dict[str, dict[str, str]] | None = None,
    host_domain: str | None = None,
) -> Environment:
    """An environment with ``hosts`` (name -> platform) and no components yet."""
    origin = Origin(file="(made by components_runtime.engine.testing)")
    host_configs = {
        host: HostConfig(
            name=host,
            fqdn=f"{host}.{host_domain}" if host_domain else host,
            platform=platform,
            own_platform=platform,
            service_user=None,
            require_sudo=None,
            ignore=False,
            data=frozen_map(),
            aliases=(),
            components=(),
            origin=origin,
        )
        for host, platform in (hosts or {"localhost": None}).items()
    }
    config = EnvironmentConfig(
        name=name,
        base_dir=Path(base_dir),
        file=Path(base_dir) / "environment.cfg",
        settings=EnvironmentSettings(host_domain=host_domain),
        hosts=frozen_map(host_configs),
        overrides=frozen_map(
            {
                component: frozen_map({k: ConfigValue(text, origin) for k, text in keys.items()})
                for component, keys in (overrides or {}).items()
            }
        ),
        resolver_v4=frozen_map(),
        resolver_v6=frozen_map(),
        vfs=None,
        errors=(),
        warnings=(),
    )
    root_dir = str(deployment_root if deployment_root is not None else base_dir)
    return Environment(config, root_dir)


def add_root(
    environment: Environment,
    factory: Any,
    *,
    name: str | None = None,
    host: str = "localhost",
    ignore: bool = False,
    defdir: Path | str | None = None,
    features: tuple[str, ...] = (),
) -> RootComponent:
    name = name or factory.__name__.lower()
    root = RootComponent(
        name,
        environment,
        environment.hosts[host],
        features,
        ignore,
        factory,
        str(defdir or environment.base_dir),
        f"{environment.workdir_base}/{name}",
        environment.overrides.get(name, {}),
        order=len(environment.root_components),
    )
    environment.root_components.append(root)
    environment.hosts[host].components[name] = root
    return root


def make_root(factory: Any, base_dir: Path | str, **kw: Any) -> RootComponent:
    """One root on host ``localhost`` of a fresh environment rooted at ``base_dir``."""
    overrides = kw.pop("overrides", None)
    platform = kw.pop("platform", None)
    environment = make_environment(
        base_dir,
        {kw.get("host", "localhost"): platform},
        overrides={(kw.get("name") or factory.__name__.lower()): overrides} if overrides else None,
    )
    return add_root(environment, factory, **kw)


__all__ = ["add_root", "make_environment", "make_root"]
