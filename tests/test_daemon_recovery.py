"""A daemon restarted over a damaged state directory recovers, or says clearly what is wrong."""

from __future__ import annotations

from pathlib import Path

from daemon_helpers import deploy_files, make_deploy_repo, run_daemon
from helpers import commit, wait_for


def test_restart_over_a_damaged_run_record_and_marker(tmp_path: Path) -> None:
    repo = make_deploy_repo(tmp_path / "repo")
    state_dir = tmp_path / "state"
    with run_daemon(tmp_path / "first", repo, state_dir=state_dir) as daemon:
        first = daemon.wait_run(trigger="startup", outcome="succeeded")
    (state_dir / "runs" / f"{first['id']}.json").write_text("[]")  # damaged by hand
    (state_dir / "running.json").write_text("{torn")
    with run_daemon(tmp_path / "second", repo, state_dir=state_dir) as daemon:
        crashed = daemon.wait_run(outcome="crashed", reason="daemon-restarted")
        again = daemon.wait_run(trigger="startup", outcome="succeeded")
        status = daemon.status()
        assert status["state"]["last_good"]["sha"] == first["commit"]["sha"]
        history = daemon.cli("history", check=True).stdout
        assert crashed["id"] in history and again["id"] in history
        assert first["id"] not in history
        assert daemon.cli("history", first["id"]).returncode == 3
        assert f"run record {first['id']} unreadable" in daemon.output()
        assert "Traceback" not in daemon.output()


def test_a_host_section_removed_later_is_refused_and_polling_goes_on(tmp_path: Path) -> None:
    repo = make_deploy_repo(tmp_path / "repo")
    config = "environments/test/environment.cfg"
    with run_daemon(tmp_path, repo, poll_interval=0.2) as daemon:
        good = daemon.wait_run(trigger="startup", outcome="succeeded")
        removed = commit(repo, {config: "[environment]\n\n[host:otherhost]\ncomponents = hello\n"})
        refused = daemon.wait_run(commit__sha=removed)
        assert refused["outcome"] == "refused" and refused["reason"] == "host-missing", refused
        assert (daemon.root / "work/hello/hello.txt").read_text() == "hello version 1\n"
        status = daemon.status()
        assert status["state"]["last_good"]["sha"] == good["commit"]["sha"]
        before = status["state"]["last_fetch_at"]
        wait_for(lambda: daemon.status()["state"]["last_fetch_at"] > before)
        back = commit(repo, {**deploy_files("version 2")})
        run = daemon.wait_run(commit__sha=back)
        assert run["outcome"] == "succeeded", run
        assert (daemon.root / "work/hello/hello.txt").read_text() == "hello version 2\n"
