"""Build a runtime environment and roots without a repository (for tests, like batou's
``root`` fixture). Not used by deployd itself.

    root = make_root(MyComponent, tmp_path)
    root.prepare()            # configure
    root.component.deploy()   # verify / update
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

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
    overrides = overrides or {}
    settings = SimpleNamespace(
        service_user=None,
        host_domain=host_domain,
        platform=None,
        require_sudo=None,
        require_v4=True,
        require_v6=False,
        timeout=None,
        jobs=None,
        branch=None,
    )
    host_configs = {
        host: SimpleNamespace(
            name=host,
            fqdn=f"{host}.{host_domain}" if host_domain else host,
            platform=platform,
            data={},
            ignore=False,
            aliases=(),
        )
        for host, platform in (hosts or {"localhost": None}).items()
    }
    config = SimpleNamespace(
        name=name,
        base_dir=Path(base_dir),
        settings=settings,
        hosts=host_configs,
        overrides=overrides,
        override_strings=lambda n: dict(overrides.get(n, {})),
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
