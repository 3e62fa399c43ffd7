"""Offline Python packages for venv tests: real projects, built into real wheels by real pip.

Each project carries a tiny PEP 517/660 build backend of its own (``backend-path = ["."]``), so
pip needs no setuptools and no index to build a wheel or an editable install of it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

from tests.support.helpers import write_tree

BACKEND = '''\
"""A minimal PEP 517/660 backend: pure-Python modules from src/, metadata from pyproject."""
import base64, hashlib, os, pathlib, tomllib, zipfile

HERE = pathlib.Path(__file__).parent


def _meta():
    project = tomllib.loads((HERE / "pyproject.toml").read_text())["project"]
    return project["name"], project["version"], project.get("dependencies", [])


def _write(directory, files):
    name, version, dependencies = _meta()
    dist = f"{name.replace('-', '_')}-{version}"
    info = f"{dist}.dist-info"
    files[f"{info}/METADATA"] = (
        f"Metadata-Version: 2.1\\nName: {name}\\nVersion: {version}\\n"
        + "".join(f"Requires-Dist: {d}\\n" for d in dependencies)
    ).encode()
    files[f"{info}/WHEEL"] = (
        b"Wheel-Version: 1.0\\nGenerator: tests\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n"
    )
    record = []
    for arcname, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{arcname},sha256={digest},{len(data)}")
    files[f"{info}/RECORD"] = ("\\n".join(record) + f"\\n{info}/RECORD,,\\n").encode()
    filename = f"{dist}-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(directory, filename), "w") as wheel:
        for arcname, data in files.items():
            wheel.writestr(arcname, data)
    return filename


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    src = HERE / "src"
    return _write(wheel_directory, {
        str(path.relative_to(src)): path.read_bytes() for path in sorted(src.rglob("*.py"))
    })


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    name = _meta()[0].replace("-", "_")
    return _write(wheel_directory, {f"__editable__{name}.pth": f"{HERE / 'src'}\\n".encode()})
'''


# setuptools' editable install of a flat layout (``pkg/pkg/__init__.py``): no path entry, but a
# finder appended to ``sys.meta_path`` that maps the package name to its directory.
FLAT_EDITABLE = """

def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    name = _meta()[0].replace("-", "_")
    finder = (
        "import importlib.util, sys\\n"
        f"PACKAGE, WHERE = {name!r}, {str(HERE / name)!r}\\n"
        "class Finder:\\n"
        "    @classmethod\\n"
        "    def find_spec(cls, fullname, path=None, target=None):\\n"
        "        if fullname != PACKAGE:\\n"
        "            return None\\n"
        "        return importlib.util.spec_from_file_location(\\n"
        "            fullname, WHERE + '/__init__.py', submodule_search_locations=[WHERE])\\n"
        "def install():\\n"
        "    sys.meta_path.append(Finder)\\n"
    )
    return _write(wheel_directory, {
        f"__editable___{name}_finder.py": finder.encode(),
        f"__editable__{name}.pth": f"import __editable___{name}_finder; "
        f"__editable___{name}_finder.install()\\n".encode(),
    })
"""


def flat_project(path: Path, name: str, version: str, modules: dict[str, str]) -> Path:
    """A flat-layout project (``path/<name>/...``) whose editable install works like
    setuptools': through a ``sys.meta_path`` finder (``modules`` map paths under ``path``)."""
    project(path, name, version, {})
    backend = path / "inline_backend.py"
    text = backend.read_text()
    text = text[: text.index("def build_editable(")] + FLAT_EDITABLE.lstrip("\n")
    backend.write_text(text)
    write_tree(path, modules)
    return path


def project(
    path: Path, name: str, version: str, modules: dict[str, str], dependencies: tuple[str, ...] = ()
) -> Path:
    """A source project at ``path``: ``modules`` maps paths under src/ to their text."""
    deps = ", ".join(f'"{d}"' for d in dependencies)
    files = {
        "pyproject.toml": (
            '[build-system]\nrequires = []\nbuild-backend = "inline_backend"\n'
            'backend-path = ["."]\n'
            f'\n[project]\nname = "{name}"\nversion = "{version}"\ndependencies = [{deps}]\n'
        ),
        "inline_backend.py": BACKEND,
        **{f"src/{module}": text for module, text in modules.items()},
    }
    write_tree(path, files)
    return path


def build_wheels(projects: list[Path], wheelhouse: Path) -> list[str]:
    """Real ``pip wheel`` runs for ``projects`` into ``wheelhouse``; the wheel file names.
    Projects are grouped so that no run gets two versions of one name (pip refuses that)."""
    wheelhouse.mkdir(parents=True, exist_ok=True)
    groups: list[dict[str, Path]] = []
    for path in projects:
        name = tomllib.loads((path / "pyproject.toml").read_text())["project"]["name"]
        group = next((g for g in groups if name not in g), None)
        if group is None:
            groups.append(group := {})
        group[name] = path
    for group in groups:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "wheel",
                "--no-index",
                "--no-deps",
                "--quiet",
                "--disable-pip-version-check",
                "-w",
                str(wheelhouse),
                *map(str, group.values()),
            ],
            check=True,
            capture_output=True,
            text=True,
            env={**os.environ, "PIP_NO_INPUT": "1"},
        )
    return sorted(os.listdir(wheelhouse))


def fake_pip(directory: Path) -> Path:
    """A ``pip`` package that records being run in $FAKE_PIP_MARKER and fails: on PYTHONPATH it
    proves that an operation ran no pip at all."""
    write_tree(
        directory,
        {
            "pip/__init__.py": '__version__ = "99.0"\n',
            "pip/__main__.py": (
                "import os, sys\n"
                "with open(os.environ['FAKE_PIP_MARKER'], 'a') as f:\n"
                "    f.write(' '.join(sys.argv) + '\\n')\n"
                "sys.exit('fake pip: pip must not run here')\n"
            ),
        },
    )
    return directory
