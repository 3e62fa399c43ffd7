"""The ``batou`` names real repositories import, through a real ``deployd check``.

The names are those batou's examples and batou_ext use most (the compatibility survey's ranks
1-11 and 26-28). Each is importable and behaves; a batou module or name deployd does not serve
fails to load with the batou name (never a path inside deployd's runtime) and a hint that
points at the page listing what is served; a ``batou.lib`` module that deployd takes from a
pinned batou distribution names the pin to add.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.helpers import make_repo
from tests.support.paths import REPO_ROOT

REPO_ROOT = REPO_ROOT

SURVEY = """\
import batou
import batou.component
import batou.lib.file
import batou.utils
from batou import (
    ConfigurationError,
    IPAddressConfigurationError,
    ReportingException,
    UpdateNeeded,
    output,
)
from batou.component import Attribute, Component, ConfigString, platform
from batou.lib.file import File, Purge
from batou.utils import Address, CmdExecutionError, NetLoc, Timer, hash


class Survey(Component):
    address = Attribute(Address, default=ConfigString("localhost:8080"))

    def configure(self):
        assert issubclass(UpdateNeeded, AssertionError)
        assert issubclass(IPAddressConfigurationError, ConfigurationError)
        assert issubclass(ReportingException, Exception)
        assert ConfigurationError.from_context("x").message == "x"
        assert batou.output is output and callable(output.annotate)
        assert str(self.address.connect) == "localhost:8080"
        assert str(NetLoc("example.com", "80")) == "example.com:80"
        assert len(hash(__file__, "sha512")) == 128
        with Timer("survey").step("configure"):
            pass
        try:
            self.cmd("exit 3")
        except CmdExecutionError as error:
            assert error.returncode == 3
        else:
            raise AssertionError("cmd() did not raise")
        self += File("out", content="surveyed")
        self += Purge("stale*")


class Base(Component):
    pass


@platform("debian", Base)
class DebianBase(Component):
    pass
"""

UNSERVED = {
    "buildout": ("from batou.lib.buildout import Buildout\n", "batou.lib.buildout"),
    "utilsname": ("from batou.utils import export_environment_variables\n", "batou.utils"),
    "toplevel": ("from batou import SecretError\n", "batou"),
}


def check(repo: Path, state: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "daemon.cli", "check", str(repo), "-e", "dev",
         "--host", "localhost", "--state-dir", str(state)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@pytest.fixture(scope="module")
def unserved(tmp_path_factory: pytest.TempPathFactory) -> str:
    base = tmp_path_factory.mktemp("unserved")
    files = {f"components/{name}/component.py": source for name, (source, _) in UNSERVED.items()}
    files["environments/dev/environment.cfg"] = "[hosts]\nlocalhost = survey\n"
    files["components/survey/component.py"] = SURVEY
    done = check(make_repo(base / "repo", files), base / "state")
    assert done.returncode == 2
    return done.stdout


def test_the_surveyed_names_import_and_work(tmp_path: Path) -> None:
    repo = make_repo(
        tmp_path / "repo",
        {
            "environments/dev/environment.cfg": "[hosts]\nlocalhost = survey, base\n",
            "components/survey/component.py": SURVEY,
        },
    )
    done = check(repo, tmp_path / "state")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "check passed" in done.stdout


@pytest.mark.parametrize("name", sorted(UNSERVED))
def test_an_unserved_batou_name_is_a_clear_load_error(unserved: str, name: str) -> None:
    (block,) = [b for b in unserved.split("\nError: ") if f"components/{name}/" in b]
    module = UNSERVED[name][1]
    assert f"location:  components/{name}/component.py:1" in block
    assert "components_runtime" not in block  # never a path inside deployd's runtime
    # batou.lib.buildout comes from a pinned batou; the other two are no missing package
    assert ("add 'batou==2.7.1' to requirements.txt" in block) == (name == "buildout")
    assert f"{module}" in block.splitlines()[0]
    assert "docs/component-model.md#batou-modules" in block


def test_the_hint_names_the_missing_name(unserved: str) -> None:
    assert (
        "ImportError: cannot import name 'export_environment_variables' from 'batou.utils'"
        in unserved
    )
    assert "deployd's batou.utils has no export_environment_variables" in unserved
    assert (
        "deployd loads batou.lib.buildout from the batou distribution the repository pins"
        in unserved
    )


def test_the_page_the_hint_points_at_exists() -> None:
    page = (REPO_ROOT / "docs/component-model.md").read_text()
    assert "\n### batou modules\n" in page
    for module in ("`buildout`", "`cron`", "`batou.utils`", "`batou.component`"):
        assert module in page
