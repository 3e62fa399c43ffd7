"""The code in docs/component-model.md runs and does what the page says."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from components_runtime.engine.testing import make_root
from components_runtime.worker import aliases
from tests.support.paths import REPO_ROOT

PAGE = REPO_ROOT / "docs" / "component-model.md"


def snippets() -> dict[str, dict[str, Any]]:
    """Every ```python block, executed; keyed by the first class it defines."""
    aliases.install()
    found = {}
    for code in re.findall(r"```python\n(.*?)```", PAGE.read_text(), re.DOTALL):
        namespace: dict[str, Any] = {}
        exec(compile(code, str(PAGE), "exec"), namespace)
        first = re.search(r"^class (\w+)", code, re.MULTILINE)
        assert first is not None
        found[first.group(1)] = namespace
    return found


def test_the_attribute_example(tmp_path: Path) -> None:
    root = make_root(snippets()["Server"]["Server"], tmp_path)
    root.prepare()
    server = root.component
    assert (server.port, server.names, server.options) == (8080, ["a", "b"], {"debug": False})
    assert server.socket == str(tmp_path / "work" / "server" / "run" / "app.sock")


def test_the_platform_example(tmp_path: Path) -> None:
    namespace = snippets()["Service"]
    root = make_root(namespace["Service"], tmp_path, platform="debian")
    root.prepare()
    [platform_component] = root.component.sub_components
    assert isinstance(platform_component, namespace["DebianService"])
    assert platform_component.unit == "service"


def test_the_hello_example_is_the_one_in_the_repository() -> None:
    """(tests/test_cli_apply.py converges that repository twice.)"""
    example = PAGE.parent / "examples" / "hello" / "components" / "hello" / "component.py"
    assert f"```python\n{example.read_text()}```" in PAGE.read_text()
    assert "Motd" in snippets()["Hello"]
