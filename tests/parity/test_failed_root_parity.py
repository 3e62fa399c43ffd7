"""A root that fails does not stop the run: batou 2.7.1 and deployd deploy the same roots.

Found while trying real repositories: deployd used to stop at the first failed root and its
summary counted only the roots it had reached. batou goes on with every root that does not
depend on the failed one; the roots that do are never started.

batou only *schedules* a root that comes after the failure: its main thread reports the error
and closes the connection while a worker thread sends that root's deploy call, so on a busy
machine the root is sometimes never deployed. ``independent`` is therefore listed before
``broken`` (batou deploys roots one at a time, in that order, so it is always done before the
failure), and ``later``, listed after it, is left out of the comparison: only deployd's own
promise, that it is deployed, is checked for it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support.parity_helpers import DIFF_DIR, differences, write_repo
from tests.support.parity_runs import batou_deploy, deployd_apply, work_tree

pytestmark = pytest.mark.slow

# The content of later.txt, also found in the diff log batou writes for it.
LATER_CONTENT = b"deployed after the failure"

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


class Later(Component):
    def configure(self):
        self += File("later.txt", content="deployed after the failure\\n")


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
        "[hosts]\nlocalhost = independent, broken, later, dependent, indirect, last\n"
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
    expected = _without_later(work_tree(batou_repo / "work"))
    assert "independent/independent.txt" in expected, batou.output
    assert expected["independent/independent.txt"][3] == b"deployed anyway\n"
    assert "dependent/dependent.txt" not in expected and "last/last.txt" not in expected
    deployed = work_tree(tmp_path / "root" / "work")
    assert deployed["later/later.txt"][3] == LATER_CONTENT + b"\n"
    assert differences(expected, _without_later(deployed)) == []
    # batou also prints the failed component's own line (deployd names it in the error).
    batou_updated = [path for path in batou.updated if path != "Broken"]
    assert _without_later_lines(deployd.updated) == _without_later_lines(batou_updated)
    assert [path for path in deployd.updated if path.startswith("Later")] != []
    summary = deployd.output.splitlines()[-1]
    assert summary.startswith("apply: 2 changed, 0 unchanged, 1 failed, 3 not attempted (")
    assert "Not attempting component last: it depends on broken, which failed" in deployd.output


def _without_later(tree: dict[str, Any]) -> dict[str, Any]:
    """The work tree without ``later``, which batou may or may not have reached: neither its
    folder nor the diff log of its file."""
    kept = {path: entry for path, entry in tree.items() if path.split("/")[0] != "later"}
    diffs = kept.get(f"{DIFF_DIR}/*")
    if isinstance(diffs, list):
        kept[f"{DIFF_DIR}/*"] = [diff for diff in diffs if LATER_CONTENT not in diff[1]]
    return kept


def _without_later_lines(updated: list[str] | tuple[str, ...]) -> list[str]:
    return [path for path in updated if not path.startswith("Later")]
