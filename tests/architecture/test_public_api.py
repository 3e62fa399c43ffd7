"""Code outside a subpackage imports only what the subpackage's ``__init__`` exports.

import-linter (``make check``) enforces which folder may import which; this test enforces the
other half of the contract: the way in is the public API, never a module inside the folder.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from tests.support.paths import REPO_ROOT

PACKAGES = ("daemon", "components_runtime")
# The batou names and the file library are public module by module (batou.lib.file, ...).
MODULE_BY_MODULE = {"components_runtime.batou", "components_runtime.lib"}


def subpackages() -> list[str]:
    names = []
    for top in PACKAGES:
        for init in sorted((REPO_ROOT / top).glob("*/__init__.py")):
            name = f"{top}.{init.parent.name}"
            if name not in MODULE_BY_MODULE:
                names.append(name)
    return names


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def reaching_inside(path: Path, packages: list[str], text: str | None = None) -> list[str]:
    """``file:line module`` for each import of a module inside a subpackage the file is not in."""
    me = module_name(path)
    found = []
    source = path.read_text() if text is None else text
    for node in ast.walk(ast.parse(source, str(path))):
        if not isinstance(node, ast.ImportFrom) or node.level or not node.module:
            continue
        for package in packages:
            inside = node.module.startswith(package + ".")
            if inside and not (me == package or me.startswith(package + ".")):
                found.append(f"{path.relative_to(REPO_ROOT)}:{node.lineno} {node.module}")
    return found


def test_code_outside_a_subpackage_uses_its_public_api() -> None:
    packages = subpackages()
    assert "daemon.loop" in packages and "components_runtime.model" in packages
    files = [f for top in PACKAGES for f in sorted((REPO_ROOT / top).rglob("*.py"))]
    assert [hit for f in files for hit in reaching_inside(f, packages)] == []


def test_the_detector_sees_a_reach_inside() -> None:
    text = "from daemon.loop.owner import Loop\nfrom daemon.loop import Loop as L\n"
    hits = reaching_inside(REPO_ROOT / "daemon" / "app.py", subpackages(), text)
    assert hits == ["daemon/app.py:1 daemon.loop.owner"]
    inside = reaching_inside(REPO_ROOT / "daemon" / "loop" / "owner.py", subpackages(), text)
    assert inside == [], "a module may import its own folder's modules"


@pytest.mark.parametrize("package", subpackages())
def test_every_exported_name_exists(package: str) -> None:
    module = importlib.import_module(package)
    missing = [name for name in module.__all__ if not hasattr(module, name)]
    assert missing == [], f"{package}.__all__ names what it does not define"
