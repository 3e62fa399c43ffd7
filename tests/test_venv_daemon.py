"""Venvs under the real daemon. Local ``-e`` packages: every commit is converged at one stable
path, so the venv is reused across commits and its editable install always runs the commit's own
code. Wheelhouses: the repository's ``wheels/`` and the host's ``wheelhouse`` are both offered."""

from __future__ import annotations

from pathlib import Path

import pytest
from daemon_helpers import HOST, run_daemon
from helpers import commit, git, make_repo
from venv_helpers import build_wheels, project

from daemon.fetch import COMMIT_MARKER
from daemon.requirements import read_requirements
from daemon.venvs import venv_key, wheelhouses

pytestmark = pytest.mark.slow

COMPONENT = """\
from batou.component import Component
from batou.lib.file import File

import myext


class Hello(Component):
    def configure(self):
        self += File("hello.txt", content=myext.message())
"""


def _myext(text: str) -> dict[str, str]:
    return {"myext/src/myext/__init__.py": f"def message():\n    {text}\n"}


def test_editable_package_code_changes_reuse_the_venv_and_run_new_code(tmp_path: Path) -> None:
    repo = make_repo(
        tmp_path / "repo",
        {
            "requirements.txt": "-e ./myext\n",
            "environments/test/environment.cfg": f"[environment]\n\n[host:{HOST}]\n"
            "components = hello\n",
            "components/hello/component.py": COMPONENT,
        },
    )
    project(repo / "myext", "myext", "0.1", {"myext/__init__.py": ""})
    first_sha = commit(repo, _myext("return 'code of commit 1'"), message="myext")
    written = tmp_path / "root" / "work" / "hello" / "hello.txt"
    offline = {"PIP_NO_INDEX": "1"}
    with run_daemon(tmp_path, repo, env=offline) as daemon:
        first = daemon.wait_run(trigger="startup", timeout=120)
        assert first["outcome"] == "succeeded", first
        assert first["commit"]["sha"] == first_sha and first["venv_outcome"] == "built"
        assert written.read_text() == "code of commit 1"

        second_sha = commit(repo, _myext("return 'code of commit 2'"))
        second = daemon.wait_run(commit__sha=second_sha, timeout=60)
        assert second["outcome"] == "succeeded", second
        assert (second["venv_outcome"], second["venv"]) == ("reused", first["venv"])
        assert written.read_text() == "code of commit 2"

        broken_sha = commit(repo, _myext("raise RuntimeError('commit 3 is broken')"))
        broken = daemon.wait_run(commit__sha=broken_sha, timeout=60)
        assert broken["outcome"] == "failed" and broken["venv_outcome"] == "reused"
        assert "commit 3 is broken" in str(broken["errors"])

        checkouts = daemon.state_dir / "checkouts"
        last_good = checkouts / second_sha  # parked intact while the broken commit is current
        assert (last_good / COMMIT_MARKER).read_text().strip() == second_sha
        assert "commit 2" in (last_good / "myext/src/myext/__init__.py").read_text()
        assert (checkouts / "current" / COMMIT_MARKER).read_text().strip() == broken_sha
        assert sorted(p.name for p in checkouts.iterdir()) == sorted(["current", second_sha])
        assert written.read_text() == "code of commit 2"
        assert [p.name for p in (daemon.state_dir / "venvs").iterdir() if p.name[0] != "."] == [
            first["venv"]
        ]


USES_BOTH_WHEELHOUSES = """\
from batou.component import Component
from batou.lib.file import File

import fromhost
import fromrepo


class Hello(Component):
    def configure(self):
        self += File("hello.txt", content=fromrepo.WORD + " " + fromhost.WORD)
"""


def test_repository_wheels_and_the_host_wheelhouse_are_both_offered(tmp_path: Path) -> None:
    """A package only in the repository's wheels/, another only in the host's wheelhouse, no
    index: both install, and both directories count in the venv's key."""
    repo = make_repo(
        tmp_path / "repo",
        {
            "requirements.txt": "fromrepo==1.0\nfromhost==1.0\n",
            "environments/test/environment.cfg": f"[environment]\n\n[host:{HOST}]\n"
            "components = hello\n",
            "components/hello/component.py": USES_BOTH_WHEELHOUSES,
        },
    )
    src = tmp_path / "src"
    build_wheels(
        [project(src / "r", "fromrepo", "1.0", {"fromrepo.py": "WORD = 'repo'\n"})], repo / "wheels"
    )
    git("add", "wheels", cwd=repo)
    git("commit", "-q", "-m", "wheels", cwd=repo)
    host = tmp_path / "host-wheels"
    build_wheels([project(src / "h", "fromhost", "1.0", {"fromhost.py": "WORD = 'host'\n"})], host)
    with run_daemon(tmp_path, repo, wheelhouse=str(host), no_index=True) as daemon:
        run = daemon.wait_run(trigger="startup", timeout=120)
        assert run["outcome"] == "succeeded", run
        assert (daemon.root / "work/hello/hello.txt").read_text() == "repo host"
        checkout = daemon.state_dir / "checkouts" / "current"
        offered = wheelhouses(checkout, host)
    assert offered == (checkout.absolute() / "wheels", host)
    requirements = read_requirements(checkout)
    assert run["venv"] == venv_key(requirements, offered, True)
    assert run["venv"] != venv_key(requirements, offered[:1], True)
    assert run["venv"] != venv_key(requirements, offered[1:], True)
