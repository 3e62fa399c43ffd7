"""Venvs under the real daemon. Local ``-e`` packages: every commit is converged at one stable
path, so the venv is reused across commits and its editable install always runs the commit's own
code. Wheelhouses: the repository's ``wheels/`` and the host's ``wheelhouse`` are both offered."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from daemon.git.mirror import COMMIT_MARKER
from daemon.venvs.cache import READY, venv_key, wheelhouses
from daemon.venvs.requirements import read_requirements
from tests.support.daemon_helpers import HOST, Daemon, run_daemon
from tests.support.helpers import commit, git, make_repo
from tests.support.venv_helpers import build_wheels, project

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


USES_GREETING = """\
from batou.component import Component
from batou.lib.file import File

import greeting


class Hello(Component):
    def configure(self):
        self += File("hello.txt", content=greeting.hello())
"""


def test_a_failing_install_keeps_the_venv_in_use_and_the_last_good_deployment(
    tmp_path: Path,
) -> None:
    """After a good run, a requirement pip cannot install fails the run with pip's reason; the
    venv in use and the deployed files stay as they were, and a retry runs pip again. Old venvs
    are collected after a later good build, keeping the last good run's venv."""
    repo = make_repo(
        tmp_path / "repo",
        {
            "requirements.txt": "greeting==1.0\n",
            "environments/test/environment.cfg": f"[environment]\n\n[host:{HOST}]\n"
            "components = hello\n",
            "components/hello/component.py": USES_GREETING,
        },
    )
    src = tmp_path / "src"
    versions = [
        project(src / v, "greeting", v, {"greeting.py": f"def hello():\n    return 'v{v}'\n"})
        for v in ("1.0", "2.0")
    ]
    build_wheels(versions, repo / "wheels")
    good_sha = _commit_wheels(repo)
    written = tmp_path / "root" / "work" / "hello" / "hello.txt"
    with run_daemon(tmp_path, repo, no_index=True, retry_max=3600) as daemon:
        good = daemon.wait_run(trigger="startup", timeout=120)
        assert good["outcome"] == "succeeded" and good["venv_outcome"] == "built", good
        in_use = daemon.state_dir / "venvs" / good["venv"]
        ready = (in_use / READY).stat().st_mtime_ns

        bad_sha = commit(repo, {"requirements.txt": "greeting==1.0\nnosuchpackage==1.0\n"})
        bad = daemon.wait_run(commit__sha=bad_sha, timeout=120)
        assert (bad["outcome"], bad["venv_outcome"]) == ("failed", "failed"), bad
        error = bad["errors"][0]
        assert "pip could not install nosuchpackage==1.0" in error["message"]
        assert any("No matching distribution found" in line for line in error["details"])
        assert _venvs(daemon) == [good["venv"]]  # nothing half-built left behind
        assert (in_use / READY).stat().st_mtime_ns == ready
        assert _greeting(in_use) == "v1.0"  # the venv in use still works
        assert written.read_text() == "v1.0"
        assert daemon.status()["state"]["last_good"]["sha"] == good_sha

        retried = json.loads(daemon.cli("converge", "--wait", "--json").stdout)
        assert retried["id"] != bad["id"] and retried["commit"]["sha"] == bad_sha
        assert retried["venv_outcome"] == "failed"  # pip ran again: failures are not cached

        newer_sha = commit(repo, {"requirements.txt": "greeting==2.0\n"})
        newer = daemon.wait_run(commit__sha=newer_sha, outcome="succeeded", timeout=120)
        assert written.read_text() == "v2.0"
        assert _venvs(daemon) == sorted([good["venv"], newer["venv"]])  # the last good kept

        newest_sha = commit(repo, {"requirements.txt": "greeting>=1.0\n"})
        newest = daemon.wait_run(commit__sha=newest_sha, outcome="succeeded", timeout=120)
        assert _venvs(daemon) == sorted([newer["venv"], newest["venv"]])  # the first collected


def _commit_wheels(repo: Path) -> str:
    git("add", "wheels", cwd=repo)
    git("commit", "-q", "-m", "wheels", cwd=repo)
    return git("rev-parse", "HEAD", cwd=repo)


def _venvs(daemon: Daemon) -> list[str]:
    return sorted(p.name for p in (daemon.state_dir / "venvs").iterdir() if p.name[0] != ".")


def _greeting(venv: Path) -> str:
    code = "import greeting; print(greeting.hello())"
    return subprocess.run(
        [venv / "bin/python", "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
