"""The schedule: drift correction every ``converge_interval`` even when nothing moved, plus a
fixed per-host splay so a fleet does not converge at once; and the retry schedule of a poll
that failed."""

from __future__ import annotations

from pathlib import Path

from daemon.loop.schedule import retry_delay, splay_offset
from tests.support.daemon_helpers import HOST, make_deploy_repo, run_daemon
from tests.support.helpers import wait_for


def test_the_splay_is_fixed_per_host_and_within_the_setting() -> None:
    offsets = {host: splay_offset(host, 300.0) for host in ("web1", "web2", "db1", "db2")}
    assert all(0.0 <= offset < 300.0 for offset in offsets.values())
    assert len(set(offsets.values())) == len(offsets), "hosts spread out"
    assert splay_offset("web1", 300.0) == offsets["web1"], "the same after a restart"
    assert splay_offset("web1", 0.0) == 0.0


def test_drift_correction_converges_the_same_commit_again(tmp_path: Path) -> None:
    repo = make_deploy_repo(tmp_path / "repo")
    with run_daemon(
        tmp_path, repo, watch_repository=False, poll_interval=60, converge_interval=0.5
    ) as daemon:
        first = daemon.wait_run(trigger="startup", outcome="succeeded")
        (daemon.root / "work/hello/hello.txt").write_text("changed by hand\n")
        again = daemon.wait_run(trigger="schedule", outcome="succeeded")
        assert again["commit"]["sha"] == first["commit"]["sha"], "nothing moved upstream"
        assert (daemon.root / "work/hello/hello.txt").read_text() == "hello version 1\n"
        assert [c["outcome"] for c in again["components"]] == ["changed"]


def test_the_next_converge_adds_this_host_s_splay(tmp_path: Path) -> None:
    repo = make_deploy_repo(tmp_path / "repo")
    interval, splay = 1000.0, 600.0
    delay = interval + splay_offset(HOST, splay)
    assert delay > interval + 60, "the test host's offset must be visible"
    with run_daemon(tmp_path, repo, converge_interval=interval, splay=splay) as daemon:
        run = daemon.wait_run(trigger="startup", outcome="succeeded")
        status = wait_for(lambda: (s := daemon.status())["last_run"]["id"] == run["id"] and s)
        # set as the run ended: its end plus the interval plus this host's splay
        assert 0 <= status["live"]["next_converge_at"] - (run["finished_at"] + delay) < 30


def test_transient_failures_back_off_exponentially_capped_with_jitter() -> None:
    def delays(jitter: float, transient: bool = True) -> list[float]:
        return [retry_delay(n, transient, 60.0, 30.0, jitter) for n in range(1, 8)]

    assert delays(1.0) == [2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0], "doubling, capped by retry_max"
    assert delays(0.5) == [1.0, 2.0, 4.0, 8.0, 15.0, 15.0, 15.0], "jitter spreads a fleet"
    assert delays(1.0, transient=False) == [60.0] * 7, "other failures: the poll interval"
    assert retry_delay(9, True, 5.0, 300.0, 1.0) == 5.0, "never longer than a poll interval"
