"""A daemon restarted over a damaged state directory recovers, or says clearly what is wrong."""

from __future__ import annotations

from pathlib import Path

from daemon_helpers import make_deploy_repo, run_daemon


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
