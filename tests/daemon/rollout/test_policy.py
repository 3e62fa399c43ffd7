"""The rollout keys of [deployd]: parsed into a frozen policy, every mistake reported."""

from __future__ import annotations

import pytest

from daemon.config import Limits
from daemon.rollout import read_policy
from daemon.rollout.policy import HealthCheck, Wave
from daemon.rollout.waves import assign_waves, place, unassigned_names, wave_warnings


def test_checks_in_both_spellings_with_their_options() -> None:
    policy, problems = read_policy(
        {
            "check.web": "http://127.0.0.1:8080/health",
            "check.web.timeout": "5s",
            "check.web.retries": "0",
            "check.db": "pg_isready -q",
            "check.db.hosts": "db1, db2",
            "check.db.interval": "1m",
            "check.queue.url": "https://queue.local/ok",
        }
    )
    assert problems == []
    web, db, queue = policy.checks
    expected = HealthCheck("web", url="http://127.0.0.1:8080/health", timeout=5.0, retries=0)
    assert web == HealthCheck(**{**expected.__dict__, "origin": "[deployd]"})
    assert db.command == "pg_isready -q" and db.hosts == ("db1", "db2") and db.interval == 60
    assert queue.url == "https://queue.local/ok" and queue.retries == 2  # the defaults
    assert [c.name for c in policy.checks_for("db2")] == ["web", "db", "queue"]
    assert [c.name for c in policy.checks_for("web1")] == ["web", "queue"]


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("check.web.url", "ftp://x", "'ftp://x' is not an http(s) URL"),
        ("check.web.timeout", "soon", "'soon' is not a duration"),
        ("check.web.retries", "-1", "is not a number from 0 to 100"),
        ("check.web.header", "x", "unknown key (known: check.web.command, check.web.url"),
        ("check.Web!", "true", "is not a name"),
        ("wave.canary", "", "a wave needs its hosts"),
        ("wave.early", "150%", "a share is 1% to 100%"),
        ("wave.early.delay", "later", "'later' is not a duration"),
        ("windows", "Mon 09:00", "is not a window"),
        ("freezes", "christmas", "is not a freeze"),
        ("drift_outside_windows", "maybe", "is not yes or no"),
    ],
)
def test_mistakes_are_named_with_their_key(key: str, value: str, message: str) -> None:
    section = {key: value}
    if key.startswith("check.web.") and key != "check.web.url":
        section["check.web"] = "true"
    if key == "wave.early.delay":
        section["wave.early"] = "h1"
    _, problems = read_policy(section)
    assert [p.key for p in problems] == [key]
    assert message in problems[0].message


def test_a_check_needs_exactly_one_of_command_and_url() -> None:
    _, problems = read_policy({"check.a.timeout": "1s", "check.b.url": "http://x", "check.b": "y"})
    assert [(p.key, p.message) for p in problems] == [
        ("check.a", "a check needs exactly one of command or url"),
        ("check.b", "a check needs exactly one of command or url"),
    ]


def test_windows_and_freezes_one_per_line() -> None:
    policy, problems = read_policy(
        {
            "windows": "Mon-Fri 09:00-16:00 Europe/Berlin\nSat 10:00-12:00",
            "freezes": "2026-12-21 .. 2027-01-04",
            "drift_outside_windows": "no",
        }
    )
    assert problems == []
    assert len(policy.schedule.windows) == 2 and len(policy.schedule.freezes) == 1
    assert policy.drift_outside_windows is False


def test_the_limits_leave_the_rollout_keys_alone() -> None:
    section = {"run_timeout": "5m", "check.web": "http://x", "windows": "daily 00:00-24:00"}
    assert Limits().overlay_environment(section).run == 300.0


WAVES = (
    Wave("canary", ("h00",)),
    Wave("early", ("10%",), 60.0),
    Wave("rest", ("*",), 120.0),
)
HOSTS = tuple(f"h{n:02d}" for n in range(40))


def test_waves_named_share_and_rest() -> None:
    assigned = assign_waves(WAVES, HOSTS)
    assert assigned["h00"] == 0
    assert sorted(assigned.values()).count(1) == 4  # ceil(10% of 40)
    assert sorted(assigned.values()).count(2) == 35
    assert assign_waves(WAVES, HOSTS) == assigned  # the same everywhere, every time
    placement = place(WAVES, HOSTS, "h00")
    assert placement is not None and placement.index == 0 and placement.earlier_hosts == ()
    last = next(h for h, i in assigned.items() if i == 2)
    placement = place(WAVES, HOSTS, last)
    assert placement is not None and placement.wave.name == "rest"
    assert len(placement.earlier_hosts) == 5 and "h00" in placement.earlier_hosts


def test_hosts_in_no_wave_join_the_last_and_typos_are_found() -> None:
    waves = (Wave("canary", ("h00", "web99")), Wave("second", ("h01",)))
    assigned = assign_waves(waves, HOSTS[:4])
    assert assigned == {"h00": 0, "h01": 1, "h02": 1, "h03": 1}
    assert unassigned_names(waves, HOSTS[:4]) == ["web99"]
    assert place((), HOSTS, "h00") is None


def test_wave_names_that_are_no_host_are_warnings_with_their_place() -> None:
    origin = "environments/prod/environment.cfg:9 [deployd]"
    waves = (Wave("canary", ("web99",), 0, origin), Wave("rest", ("h01", "db7", "*"), 0, origin))
    first, second = wave_warnings(waves, HOSTS[:4])
    assert (first.key, first.origin) == ("wave.canary", origin)
    assert first.message == (
        "web99: no host of this environment (the wave has no host, so it gates nothing)"
    )
    assert second.message == "db7: no host of this environment (the wave goes on without it)"
    assert "a typo?" in first.hint
    assert wave_warnings((Wave("canary", ("h00",)), Wave("rest", ("10%", "*"))), HOSTS) == []
