"""Waves gated by a real Prometheus: two real daemons (a canary and a later wave) scraped by a
real Prometheus. A commit that fails its health check on the canary is rolled back there and
never reaches the later wave; a good commit reaches it once Prometheus shows the canary on it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.daemon_helpers import deploy_files, push_content, run_daemon
from tests.support.helpers import make_repo, wait_for
from tests.support.metrics_store import free_port, start_prometheus

pytestmark = pytest.mark.slow

POLICY = """
[deployd]
check.app.command = ! grep -q bad $DEPLOYD_ROOT/work/hello/hello.txt
check.app.retries = 0
wave.canary = canary
wave.rest = *
"""


def test_a_bad_commit_stops_at_the_canary(tmp_path: Path) -> None:
    files = deploy_files(host="canary")
    files["environments/test/environment.cfg"] += (
        "\n[host:testhost]\ncomponents =\n    hello\n" + POLICY
    )
    repo = make_repo(tmp_path / "repo", files)
    ports = free_port(), free_port()
    prometheus_dir = tmp_path / "prometheus"
    prometheus_dir.mkdir()
    targets = [f"127.0.0.1:{port}" for port in ports]
    with (
        start_prometheus(prometheus_dir, targets) as prometheus,
        run_daemon(
            tmp_path / "canary", repo, host="canary", metrics_listen=targets[0], poll_interval=0.5
        ) as canary,
        run_daemon(
            tmp_path / "later",
            repo,
            metrics_listen=targets[1],
            poll_interval=0.5,
            rollout={"prometheus_url": prometheus.url},
        ) as later,
    ):
        first = canary.wait_run(outcome="succeeded", timeout=60)
        # the later wave starts the first commit only once Prometheus shows the canary on it
        seen = later.wait_run(outcome="succeeded", timeout=60)
        assert seen["commit"]["sha"] == first["commit"]["sha"]
        assert seen["started_at"] > first["finished_at"]

        bad = push_content(repo, "bad")
        canary.wait_run(outcome="rolled-back", commit__sha=bad, timeout=60)

        def held() -> dict | None:
            hold = later.status()["live"]["hold"]
            return hold if hold and "failed or rolled back" in hold["message"] else None

        hold = wait_for(held, timeout=60)
        assert hold["reason"] == "wave-gate" and hold["wave"] == "rest"
        assert f"canary failed or rolled back {bad[:7]}" in later.cli("status").stdout
        assert not any(run["commit"]["sha"] == bad for run in later.runs() if run["commit"])
        assert (later.root / "work/hello/hello.txt").read_text() == "hello version 1\n"
        # ... and says so in its metrics
        wait_for(
            lambda: prometheus.query('deployd_rollout_held{reason="wave-gate"} == 1'), timeout=30
        )

        fixed = push_content(repo, "version 3")
        canary.wait_run(outcome="succeeded", commit__sha=fixed, timeout=60)
        later.wait_run(outcome="succeeded", commit__sha=fixed, timeout=60)
        assert (later.root / "work/hello/hello.txt").read_text() == "hello version 3\n"
