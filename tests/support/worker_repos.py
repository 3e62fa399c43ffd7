"""Small deployment repositories and worker requests for tests that run a real worker."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from components_runtime.protocol import WorkerRequest
from tests.support.helpers import make_repo


def repo(path: Path, components: dict[str, str], hosts: str | None = None) -> Path:
    """A deployment repository with one host converging ``components`` (name → class body)."""
    names = ", ".join(components)
    files = {
        ".batou.json": '{"migration": {"version": 2400}}\n',
        "environments/test/environment.cfg": f"[host:localhost]\ncomponents = {hosts or names}\n",
    }
    for name, source in components.items():
        files[f"components/{name}/component.py"] = source
    return make_repo(path, files)


def request(checkout: Path, tmp_path: Path, **kw: Any) -> WorkerRequest:
    return WorkerRequest(
        repository=str(checkout),
        environment="test",
        host="localhost",
        root=str(tmp_path / "root"),
        **kw,
    )


COMPONENT = """\
import os, signal, time
from batou.component import Component

class {name}(Component):
{body}
"""


def component(name: str, body: str) -> str:
    return COMPONENT.format(name=name, body=body)
