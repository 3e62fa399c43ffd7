"""A real runtime for the file library's unit tests: one environment, one root, one host.

``LibRoot.add(component)`` adds a component under a plain holder component (what batou's own
tests call ``root.component += ...``), which configures it at once; ``deploy()`` runs the
real verify/update walk. Paths resolve like in a deployment: the workdir is
``<root>/work/probe`` and relative sources resolve against the definition directory
``<repo>/components/probe``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from components_runtime.envconfig.load import load_environment_config
from components_runtime.model.component import Component
from components_runtime.model.environment import Environment
from components_runtime.model.roots import RootComponent
from components_runtime.support.output import output

ENVIRONMENT_CFG = """\
[environment]
connect_method = local

[hosts]
localhost = probe
"""


class Holder(Component):
    """The root's component: holds whatever a test adds."""


class LibRoot:
    def __init__(self, base: Path) -> None:
        self.repo = base / "repo"
        self.defdir = self.repo / "components" / "probe"
        self.defdir.mkdir(parents=True)
        (self.repo / "environments" / "test").mkdir(parents=True)
        (self.repo / "environments" / "test" / "environment.cfg").write_text(ENVIRONMENT_CFG)
        self.deployment_root = base / "root"
        self.environment = Environment(
            load_environment_config(self.repo, "test"), str(self.deployment_root)
        )
        self.workdir = self.deployment_root / "work" / "probe"
        self.workdir.mkdir(parents=True)
        self.root = RootComponent(
            name="probe",
            environment=self.environment,
            host=self.environment.hosts["localhost"],
            features=[],
            ignore=False,
            factory=Holder,
            defdir=str(self.defdir),
            workdir=str(self.workdir),
        )
        self.root.prepare()
        self.root.finish_configure()
        self.component: Component = self.root.component
        self.events: list[dict[str, Any]] = []

    def messages(self) -> list[str]:
        """What the components reported (diffs, notices) since the root was made."""
        return [event["message"] for event in self.events if event.get("event") == "log"]

    def add(self, component: Component) -> Any:
        """Add ``component`` to the holder (configuring it) and return it."""
        self.component += component
        return component

    def deploy(self, predict_only: bool = False) -> None:
        self.component.deploy(predict_only)

    def changed_paths(self) -> list[str]:
        """Breadcrumbs of every component that changed in the last deploy."""
        return [sub._breadcrumbs for sub in self.component.recursive_sub_components if sub.changed]

    def source(self, name: str, content: str | bytes) -> Path:
        """Write a file into the definition directory."""
        path = self.defdir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
        return path

    def path(self, name: str) -> Path:
        return self.workdir / name


def lib_root(tmp_path: Path) -> Iterator[LibRoot]:
    """A fresh runtime root for one test; the current directory is the workdir, as in batou.

    Each test module wraps it in its own ``root`` fixture (``yield from lib_root(tmp_path)``).
    """
    lib_root = LibRoot(tmp_path)
    previous = os.getcwd()
    os.chdir(lib_root.workdir)
    output.attach(lib_root.events.append)
    try:
        yield lib_root
    finally:
        output.attach(None)
        os.chdir(previous)
