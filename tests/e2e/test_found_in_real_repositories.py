"""Messages that misled users trying deployd on real batou repositories, now clear.

One repository holds every case, so one ``deployd check`` (one venv build) covers them all:

* an import that fails inside an installed extension package names the package's own file and
  line (``extpkg/nix.py:3``), not only the user's ``import`` line;
* a component that a failed file imports says that this file failed to load, instead of "none
  is called logrotate, and there is no components/logrotate/";
* messages name batou's classes (``batou.utils.BagOfAttributes``), never deployd's modules.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support.helpers import make_repo
from tests.support.venv_helpers import project

pytestmark = pytest.mark.slow

USES_EXTENSION = """\
from batou.component import Component
import extpkg.nix


class UsesExtension(Component):
    pass
"""

EXTENSION_MODULE = """\
import os

import nosuch_dependency_of_extpkg
"""

FAILS_AFTER_IMPORTING = """\
from batou.component import Component as Logrotate
import nosuch_module_of_the_repository
"""

TEMPLATE_ERROR = """\
from batou.component import Component
from batou.lib.file import File


class Aliases(Component):
    def configure(self):
        self += File("aliases.txt", content="{{ host.aliases.web }}\\n")
"""

ENVIRONMENT = """\
[environment]
connect_method = local

[hosts]
localhost = usesextension, logrotate, aliases
"""


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> str:
    base = tmp_path_factory.mktemp("found")
    repo = make_repo(
        base / "repo",
        {
            "components/usesextension/component.py": USES_EXTENSION,
            "components/logs/component.py": FAILS_AFTER_IMPORTING,
            "components/aliases/component.py": TEMPLATE_ERROR,
            "environments/found/environment.cfg": ENVIRONMENT,
            "requirements.txt": "./extpkg\n",
        },
    )
    project(
        repo / "extpkg",
        "extpkg",
        "1.0",
        {"extpkg/__init__.py": "", "extpkg/nix.py": EXTENSION_MODULE},
    )
    command = [sys.executable, "-m", "daemon.cli", "check", str(repo), "-e", "found",
               "--host", "localhost", "--state-dir", str(base / "state")]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stdout + done.stderr
    return done.stdout


def _block(report: str, start: str) -> str:
    """The error block of ``report`` whose first line contains ``start``."""
    blocks = report.split("\n\n")
    return next(block for block in blocks if start in block.splitlines()[0])


def test_an_import_failing_inside_an_installed_package_names_its_file_and_line(
    report: str,
) -> None:
    block = _block(report, "nosuch_dependency_of_extpkg")
    assert (
        "Error: LoadError: Failed loading component file: ModuleNotFoundError: "
        "extpkg/nix.py:3: No module named 'nosuch_dependency_of_extpkg'"
    ) in block
    assert "location:  components/usesextension/component.py:2" in block
    assert block.splitlines()[-2:] == [
        "      components/usesextension/component.py:2",
        "      extpkg/nix.py:3",
    ]


def test_a_component_a_failed_file_imports_says_that_file_failed(report: str) -> None:
    block = _block(report, "Missing component: logrotate")
    assert (
        "hint:      components/logs/component.py imports Logrotate, but that file failed to "
        "load (see its error)"
    ) in block


def test_messages_name_batous_classes_not_deployds_modules(report: str) -> None:
    block = _block(report, "TemplatingError")
    assert "'batou.utils.BagOfAttributes object' has no attribute 'web'" in block
    assert "components_runtime" not in report


def test_the_repository_really_installed_the_package(report: str) -> None:
    # Guards the first test: the package was installed and failed inside, not missing.
    assert "No module named 'extpkg'" not in report
    assert "pip install" in report.splitlines()[0]
