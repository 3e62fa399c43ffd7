"""A root that fails does not stop the run: batou 2.7.1 and deployd deploy the same roots.

Found while trying real repositories: deployd used to stop at the first failed root and its
summary counted only the roots it had reached. batou goes on with every root that does not
depend on the failed one; the roots that do are never started.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.parity_helpers import differences, write_repo
from tests.support.parity_runs import batou_deploy, deployd_apply, work_tree

pytestmark = pytest.mark.slow

COMPONENT = """\
from batou.component import Component
from batou.lib.file import File


class Broken(Component):
    def configure(self):
        self.provide("broken", self)
        self += File("before.txt", content="written before the failure\\n")

    def verify(self):
        raise RuntimeError("broken on purpose")


class Independent(Component):
    def configure(self):
        self += File("independent.txt", content="deployed anyway\\n")


class Dependent(Component):
    def configure(self):
        self.require_one("broken")
        self += File("dependent.txt", content="never deployed\\n")


class Indirect(Component):
    def configure(self):
        self.provide("indirect", self)
        self.require_one("broken")


class Last(Component):
    def configure(self):
        self.require_one("indirect")
        self += File("last.txt", content="never deployed either\\n")
"""

FILES: dict[str, str | bytes] = {
    "components/broken/component.py": COMPONENT,
    "environments/roots/environment.cfg": (
        "[environment]\nconnect_method = local\n\n"
        "[hosts]\nlocalhost = broken, independent, dependent, indirect, last\n"
    ),
}


def test_a_failed_root_leaves_the_independent_roots_deployed_as_batou_does(
    tmp_path: Path,
) -> None:
    batou_repo = write_repo(tmp_path / "batou", FILES)
    deployd_repo = write_repo(tmp_path / "deployd", FILES)
    batou = batou_deploy(batou_repo, "roots")
    deployd = deployd_apply(deployd_repo, "roots", tmp_path / "root")
    assert batou.returncode != 0 and deployd.returncode == 1
    expected = work_tree(batou_repo / "work")
    assert expected["independent/independent.txt"][3] == b"deployed anyway\n"
    assert "dependent/dependent.txt" not in expected and "last/last.txt" not in expected
    assert differences(expected, work_tree(tmp_path / "root" / "work")) == []
    # batou also prints the failed component's own line (deployd names it in the error), and
    # deploys independent roots in parallel threads, so its lines are compared as a set.
    assert sorted(deployd.updated) == sorted(path for path in batou.updated if path != "Broken")
    summary = deployd.output.splitlines()[-1]
    assert summary.startswith("apply: 1 changed, 0 unchanged, 1 failed, 3 not attempted (")
    assert "Not attempting component last: it depends on broken, which failed" in deployd.output
