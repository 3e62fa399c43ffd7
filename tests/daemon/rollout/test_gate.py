"""The loop's rollout gate on a real mirror: windows, drift, marks, wave delays, --now."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest

from daemon.config import Settings
from daemon.config.settings import RolloutSettings
from daemon.git import Mirror
from daemon.records import CommitInfo, HostState
from daemon.rollout import Gate
from tests.support.helpers import commit, make_repo

ENV = "environments/test/environment.cfg"
HOSTS = "[host:canary]\ncomponents = a\n\n[host:web]\ncomponents = a\n"
MONDAY_NOON = datetime.fromisoformat("2026-03-30T12:00:00+00:00").timestamp()  # 14:00 Berlin
MONDAY_EVENING = MONDAY_NOON + 6 * 3600


def gate_on(tmp_path: Path, deployd: str, host: str = "web", **rollout: object) -> tuple:
    repo = make_repo(tmp_path / "repo", {ENV: HOSTS + "\n[deployd]\n" + deployd})
    old = commit(repo, {"a.txt": "1"}, "old")
    new = commit(repo, {"a.txt": "2"}, "new")
    mirror = Mirror(tmp_path / "mirror.git", str(repo), "main")
    mirror.fetch()
    settings = Settings(
        repository=str(repo),
        environment="test",
        host=host,
        rollout=RolloutSettings(**rollout),  # type: ignore[arg-type]
    )
    gate = Gate(settings, mirror, tmp_path / "scratch")
    deployed = CommitInfo(old)
    state = HostState(last_good=deployed, upstream=CommitInfo(new), upstream_seen_at=MONDAY_NOON)
    return gate, state, deployed, CommitInfo(new)


OFFICE = "windows = Mon-Fri 09:00-16:00 Europe/Berlin\n"


def test_inside_the_window_the_new_commit_goes(tmp_path: Path) -> None:
    gate, state, _, new = gate_on(tmp_path, OFFICE)
    verdict = gate.judge("poll", new, state, MONDAY_NOON)
    assert verdict.commit == new and verdict.hold is None


def test_outside_it_waits_and_drift_converges_the_deployed_commit(tmp_path: Path) -> None:
    gate, state, deployed, new = gate_on(tmp_path, OFFICE)
    held = gate.judge("poll", new, state, MONDAY_EVENING)
    assert held.commit is None and held.hold is not None
    assert held.hold.reason == "window" and held.hold.message == "waiting for the window"
    tuesday_nine_berlin = datetime.fromisoformat("2026-03-31T07:00:00+00:00").timestamp()
    assert held.hold.until == tuesday_nine_berlin
    assert gate.recheck_at == MONDAY_EVENING + 60  # looked at again every minute
    drift = gate.judge("schedule", new, state, MONDAY_EVENING)
    assert drift.commit == deployed and drift.hold is not None
    forced = gate.judge("override", new, state, MONDAY_EVENING)
    assert forced.commit == new and forced.hold is None


def test_drift_may_be_held_too(tmp_path: Path) -> None:
    gate, state, deployed, new = gate_on(tmp_path, OFFICE + "drift_outside_windows = no\n")
    assert gate.judge("schedule", new, state, MONDAY_EVENING).commit is None
    up_to_date = replace(state, upstream=deployed)
    verdict = gate.judge("schedule", deployed, up_to_date, MONDAY_EVENING)
    assert verdict.commit is None and verdict.hold and verdict.hold.reason == "window"
    assert gate.judge("schedule", deployed, up_to_date, MONDAY_NOON).commit == deployed


def test_the_host_settings_replace_the_repository_windows(tmp_path: Path) -> None:
    gate, state, _, new = gate_on(tmp_path, OFFICE, windows=("daily 00:00-24:00",))
    assert gate.judge("poll", new, state, MONDAY_EVENING).commit == new


def test_a_rolled_back_commit_waits_for_a_newer_one(tmp_path: Path) -> None:
    gate, state, deployed, new = gate_on(tmp_path, "")
    marked = replace(state, rolled_back_commit=new.sha)
    verdict = gate.judge("api", new, marked, MONDAY_NOON)
    assert verdict.commit == deployed and verdict.hold and verdict.hold.reason == "rolled-back"
    assert gate.recheck_at is None


WAVES = "wave.canary = canary\nwave.rest = *\nwave.rest.delay = 10m\n"


@pytest.mark.parametrize(("host", "held"), [("canary", False), ("web", True)])
def test_a_later_wave_waits_for_its_delay(tmp_path: Path, host: str, held: bool) -> None:
    gate, state, _, new = gate_on(tmp_path, WAVES, host=host)
    verdict = gate.judge("poll", new, state, MONDAY_NOON + 60)
    assert (verdict.commit is None) is held
    if held:
        assert verdict.hold and verdict.hold.reason == "wave-delay"
        assert verdict.hold.wave == "rest" and verdict.hold.until == MONDAY_NOON + 600
        assert gate.judge("poll", new, state, MONDAY_NOON + 600).commit == new


def test_a_later_wave_without_prometheus_answering_holds(tmp_path: Path) -> None:
    gate, state, _, new = gate_on(tmp_path, WAVES, prometheus_url="http://127.0.0.1:9")
    verdict = gate.judge("poll", new, state, MONDAY_NOON + 601)
    assert verdict.commit is None and verdict.hold and verdict.hold.reason == "wave-gate"
    assert "Prometheus at http://127.0.0.1:9 gave no answer" in verdict.hold.message


def test_a_policy_with_errors_holds_the_commit(tmp_path: Path) -> None:
    gate, state, _, new = gate_on(tmp_path, "windows = whenever\n")
    verdict = gate.judge("poll", new, state, MONDAY_NOON)
    assert verdict.commit is None and verdict.hold and verdict.hold.reason == "bad-policy"
    assert "has errors" in verdict.hold.message


def test_a_wave_naming_no_host_is_logged_once_per_commit(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    gate, state, _, new = gate_on(tmp_path, "wave.canary = canry\nwave.rest = *\n")
    with caplog.at_level("WARNING", logger="daemon.rollout.gate"):
        first = gate.judge("poll", new, state, MONDAY_NOON)
        gate.judge("poll", new, state, MONDAY_NOON)
    warnings = [r.getMessage() for r in caplog.records if "no host" in r.getMessage()]
    assert len(warnings) == 1
    assert "wave.canary: canry: no host of this environment (the wave has no host" in warnings[0]
    assert f"{ENV}:" in warnings[0]
    # an empty canary gates nothing: the host of the last wave goes at once
    assert first.commit == new and first.hold is None
