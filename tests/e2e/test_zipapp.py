"""``make zipapp``: deployd.pyz runs under clean interpreters that have none of its dependencies.

Each interpreter runs isolated (``-I``: no user site, no PYTHON* variables, no current
directory on the path) and must find GitPython, Jinja2, PyYAML ... inside the file; a
``deployd check`` of the bundled example runs the worker, which imports the runtime's compiled
dependencies (MarkupSafe, PyYAML) from the unpacked zipapp.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.helpers import git
from tests.support.paths import DOCS, REPO_ROOT

pytestmark = pytest.mark.slow

# Debian's own python3 always; other versions where this machine has them (pyenv).
INTERPRETERS = [
    Path("/usr/bin/python3"),
    *sorted(Path.home().glob(".pyenv/versions/3.1[2-4]*/bin/python3")),
]


@pytest.fixture(scope="module")
def zipapp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("zipapp") / "deployd.pyz"
    env = {**os.environ, "PYTHON": sys.executable}
    done = subprocess.run(
        ["bash", str(REPO_ROOT / "packaging" / "build-zipapp"), str(out)],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return out


def _name(python: Path) -> str:
    return "debian" if python == Path("/usr/bin/python3") else python.parent.parent.name


@pytest.mark.parametrize("python", INTERPRETERS, ids=_name)
def test_zipapp_runs_under_a_clean_interpreter(zipapp: Path, python: Path, tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "SHIV_ROOT": str(tmp_path / "shiv"), "HOME": str(tmp_path)}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(python), "-I", str(zipapp), *args],
            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300,
        )  # fmt: skip

    version = run("--version")
    head = git("rev-parse", "HEAD", cwd=REPO_ROOT)
    assert version.returncode == 0 and f"commit {head}" in version.stdout, version

    check = run(
        "check", str(DOCS / "examples" / "hello"), "-e", "demo", "--host", "localhost",
        "--state-dir", str(tmp_path / "state"),
    )  # fmt: skip
    assert check.returncode == 0, check.stdout + check.stderr
    assert "check passed: environment demo, localhost" in check.stdout
    unpacked = list((tmp_path / "shiv").glob("deployd*/site-packages"))
    assert len(unpacked) == 1 and (unpacked[0] / "git").is_dir()
