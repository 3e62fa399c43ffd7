"""Poll pacing with splay on: each host polls at its own phase of the interval, so a fleet's
polls are spread evenly however the daemons were started."""

from __future__ import annotations

from collections import Counter

import pytest

from daemon.loop.schedule import PollSchedule, phased_delay
from daemon.rollout.waves import poll_phase

HOSTS = tuple(f"host-{n:03d}" for n in range(200))


def test_phases_are_evenly_spaced_over_the_interval() -> None:
    phases = sorted(poll_phase(host, HOSTS, 60.0) for host in HOSTS)
    assert phases[0] == 0.0
    assert all(b - a == pytest.approx(0.3) for a, b in zip(phases, phases[1:], strict=False))
    assert 0 <= poll_phase("stranger", HOSTS, 60.0) < 60


@pytest.mark.parametrize("now", [1000.0, 1000.4, 1017.0, 1059.9])
def test_the_next_poll_is_at_the_phase_and_about_an_interval_away(now: float) -> None:
    delay = phased_delay(now, 60.0, 12.5)
    assert (now + delay - 12.5) % 60 == pytest.approx(0, abs=1e-6)
    assert 30 <= delay <= 90


def test_a_fleet_started_at_once_spreads_out_after_one_poll() -> None:
    """200 hosts all polling at t=0 (a start-up): their second polls never share a second
    with more than 5 % of the fleet (here: at most one host in any second)."""
    seconds = Counter()
    for host in HOSTS:
        schedule = PollSchedule(60.0, 300.0)
        schedule.phase = poll_phase(host, HOSTS, 60.0)
        schedule.polled(0.0, 1_800_000_000.0, None)
        seconds[int(schedule.next_at)] += 1
    assert max(seconds.values()) <= 0.05 * len(HOSTS)
