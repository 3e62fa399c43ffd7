"""The rollout in a real daemon: a failing health check rolls back and marks the commit; a
rollback that fails too suspends; a change window holds new commits and `--now` overrides it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.daemon_helpers import deploy_files, push_content, run_daemon
from tests.support.helpers import commit, git, make_repo, wait_for

pytestmark = pytest.mark.slow

# The check fails while the deployed file says "bad", or while the root holds a file "broken".
CHECK = (
    "check.app.command = ! grep -q bad $DEPLOYD_ROOT/work/hello/hello.txt "
    "&& test ! -e $DEPLOYD_ROOT/broken && echo app answers\n"
    "check.app.retries = 1\ncheck.app.interval = 0.1s\n"
)


def rollout_repo(path: Path, deployd: str) -> Path:
    files = deploy_files()
    files["environments/test/environment.cfg"] += f"\n[deployd]\n{deployd}"
    return make_repo(path, files)


def hello(root: Path) -> str:
    return (root / "work" / "hello" / "hello.txt").read_text()


def test_a_failing_health_check_rolls_back_and_marks_the_commit(tmp_path: Path) -> None:
    repo = rollout_repo(tmp_path / "repo", CHECK)
    with run_daemon(tmp_path, repo, poll_interval=0.5) as daemon:
        good = daemon.wait_run(outcome="succeeded")
        assert [c["name"] for c in good["health"]] == ["app"] and good["health"][0]["passed"]
        bad = push_content(repo, "bad")
        run = daemon.wait_run(outcome="rolled-back", timeout=60)
        assert run["commit"]["sha"] == bad and run["reason"] == "health-check"
        assert run["rolled_back_to"]["sha"] == good["commit"]["sha"]
        checks = [(c["name"], c["passed"], c["commit"]) for c in run["health"]]
        assert checks == [("app", False, bad), ("app", True, good["commit"]["sha"])]
        assert run["health"][0]["attempts"] == 2
        assert "exit status 1" in run["health"][0]["output"]
        assert "health check app failed" in run["errors"][0]["message"]
        assert hello(daemon.root) == "hello version 1\n"  # the good commit is back
        status = daemon.status()
        assert status["state"]["rolled_back_commit"] == bad
        assert status["state"]["last_good"]["sha"] == good["commit"]["sha"]
        text = daemon.cli("status").stdout
        assert "rolled back" in text and bad[:10] in text
        assert "rolled-back (health-check)" in daemon.cli("history").stdout
        # The bad commit is not retried: a converge converges the deployed commit again ...
        answer = daemon.cli("converge", "--wait", "--json")
        again = json.loads(answer.stdout)
        assert again["commit"]["sha"] == good["commit"]["sha"] and again["outcome"] == "succeeded"
        hold = daemon.status()["live"]["hold"]
        assert hold["reason"] == "rolled-back" and hold["commit"] == bad
        # ... until a newer commit arrives.
        fixed = push_content(repo, "version 3")
        daemon.wait_run(outcome="succeeded", commit__sha=fixed, timeout=60)
        assert hello(daemon.root) == "hello version 3\n"
        assert daemon.status()["live"]["hold"] is None
        assert "health: check app failed" in daemon.output()
        assert f"run {run['id']}: rolled-back: HealthCheckFailed" in daemon.output()


def test_a_rollback_that_fails_its_check_suspends(tmp_path: Path) -> None:
    repo = rollout_repo(tmp_path / "repo", CHECK)
    with run_daemon(tmp_path, repo, poll_interval=0.5) as daemon:
        daemon.wait_run(outcome="succeeded")
        (daemon.root / "broken").write_text("the database is gone\n")
        second = push_content(repo, "version 2")
        run = daemon.wait_run(outcome="rollback-failed", timeout=60)
        assert run["commit"]["sha"] == second
        assert [c["passed"] for c in run["health"]] == [False, False]
        assert any(e["kind"] == "RollbackFailed" for e in run["errors"])
        status = daemon.status()
        assert "rollback of" in status["state"]["suspended_reason"]
        # It never loops: a newer commit starts nothing while suspended.
        push_content(repo, "version 3")
        wait_for(lambda: daemon.status()["state"]["upstream"]["sha"] != second, timeout=30)
        runs = daemon.runs()
        assert runs[0]["id"] == run["id"]


FREEZE = "freezes = 2000-01-01 .. 2099-12-31\n"


def test_a_freeze_holds_new_commits_and_now_overrides_it(tmp_path: Path) -> None:
    repo = rollout_repo(tmp_path / "repo", "")
    with run_daemon(tmp_path, repo, poll_interval=0.5) as daemon:
        first = daemon.wait_run(outcome="succeeded")
        cfg = (repo / "environments/test/environment.cfg").read_text()
        frozen = commit(repo, {"environments/test/environment.cfg": cfg + FREEZE}, "freeze")
        wait_for(lambda: (daemon.status()["live"]["hold"] or {}).get("reason") == "freeze", 30)
        text = daemon.cli("status").stdout
        assert "waiting: freeze 2000-01-01 .. 2099-12-31 (opens in " in text
        # drift correction still converges the deployed commit (the default)
        drift = json.loads(daemon.cli("converge", "--wait", "--json").stdout)
        assert drift["commit"]["sha"] == first["commit"]["sha"]
        # the operator's override converges the head, recorded as such
        forced = json.loads(daemon.cli("converge", "--wait", "--now", "--json").stdout)
        assert forced["commit"]["sha"] == frozen and forced["trigger"] == "override"
        assert forced["outcome"] == "succeeded"
        assert git("rev-parse", "HEAD", cwd=repo) == frozen
