"""The runtime runs inside a repository's venv: it must never import the daemon."""

import ast
from pathlib import Path

from tests.support.paths import REPO_ROOT

RUNTIME = REPO_ROOT / "components_runtime"


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_runtime_never_imports_daemon() -> None:
    files = sorted(RUNTIME.rglob("*.py"))
    assert files, "no runtime modules found"
    offenders = {
        str(f.relative_to(RUNTIME)): sorted(
            m for m in imported_modules(f) if m.split(".")[0] == "daemon"
        )
        for f in files
    }
    assert {f: m for f, m in offenders.items() if m} == {}


def test_detector_sees_a_daemon_import(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text("import os\nfrom daemon.records.model import RunRecord\n")
    assert "daemon.records.model" in imported_modules(probe)
