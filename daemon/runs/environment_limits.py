"""The ``[deployd]`` section of a repository's environment: its time limits for this run.

Read by the daemon's pipeline and by ``apply``/``check`` alike, through the runtime's own
reader of ``environment.cfg``, so both see the same values with the same file and line.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from components_runtime.envconfig import load_environment_config
from components_runtime.errors import DeploydError


def environment_section(repository: Path, environment: str) -> Mapping[str, Any]:
    """The environment's ``[deployd]`` section (values keep their file and line), or nothing:
    when no environment file mentions it (a text check first, so the common case does not parse
    the environment in this process), or when the environment cannot be read (the worker
    reports that together with every other error)."""
    name = environment.removesuffix(".cfg")
    environments = repository / "environments"
    files = (environments / name / "environment.cfg", environments / f"{name}.cfg")
    if not any("[deployd]" in _text(file) for file in files):
        return {}
    try:
        config = load_environment_config(repository, environment)
    except DeploydError:
        return {}
    return dict(config.deployd)


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
