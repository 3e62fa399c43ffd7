"""Change windows and freezes: parsing, membership and "opens at", across DST (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from daemon.records import format_wait
from daemon.rollout.windows import (
    Schedule,
    WindowError,
    parse_freeze,
    parse_window,
    wall_instant,
)
from daemon.rollout.windows import zone as tz


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


OFFICE = Schedule((parse_window("Mon-Fri 09:00-16:00 Europe/Berlin"),))


@pytest.mark.parametrize(
    ("now", "allowed", "opens"),
    [
        ("2026-03-27T12:00", True, "2026-03-27T12:00"),  # Friday, CET (UTC+1): 13:00 local
        ("2026-03-27T15:00", False, "2026-03-30T07:00"),  # 16:00 local: closed, Monday is CEST
        ("2026-03-28T10:00", False, "2026-03-30T07:00"),  # Saturday
        ("2026-03-30T06:59", False, "2026-03-30T07:00"),
        ("2026-03-30T07:00", True, "2026-03-30T07:00"),
        ("2026-10-23T07:00", True, "2026-10-23T07:00"),  # Friday, still CEST
        ("2026-10-24T12:00", False, "2026-10-26T08:00"),  # after the change back to CET
    ],
)
def test_office_hours_follow_berlin_wall_clock(now: str, allowed: bool, opens: str) -> None:
    assert OFFICE.allows(at(now)) is allowed
    assert OFFICE.next_open(at(now)) == at(opens)


def test_a_window_in_the_skipped_hour_opens_when_the_clocks_jump() -> None:
    # 2026-03-29: Berlin goes from 02:00 CET straight to 03:00 CEST (01:00 UTC).
    night = Schedule((parse_window("daily 02:30-04:00 Europe/Berlin"),))
    assert night.next_open(at("2026-03-29T00:00")) == at("2026-03-29T01:00")
    assert not night.allows(at("2026-03-29T00:59"))
    assert night.allows(at("2026-03-29T01:00"))  # 03:00 CEST
    assert not night.allows(at("2026-03-29T02:00"))  # 04:00 CEST


def test_a_window_in_the_repeated_hour_is_open_both_times() -> None:
    # 2026-10-25: 03:00 CEST goes back to 02:00 CET; 02:00-03:00 local happens twice.
    repeated = Schedule((parse_window("Sun 02:00-03:00 Europe/Berlin"),))
    open_minutes = [
        m
        for m in range(0, 240, 15)
        if repeated.allows(at("2026-10-24T23:00") + timedelta(minutes=m))
    ]
    # from 00:00 UTC (02:00 CEST) to 02:00 UTC (03:00 CET): two hours
    assert open_minutes[0] == 60 and open_minutes[-1] == 165 and len(open_minutes) == 8
    assert repeated.next_open(at("2026-10-24T12:00")) == at("2026-10-25T00:00")


def test_wall_instant_takes_the_first_of_a_repeated_time() -> None:
    berlin = tz("Europe/Berlin")
    day = datetime(2026, 10, 25).date()
    assert wall_instant(day, 2 * 60 + 30, berlin) == at("2026-10-25T00:30")


def test_a_window_past_midnight_belongs_to_its_start_day() -> None:
    late = Schedule((parse_window("Sat 22:00-02:00"),))
    assert late.allows(at("2026-03-28T23:00"))  # Saturday night
    assert late.allows(at("2026-03-29T01:59"))  # Sunday morning, still Saturday's window
    assert not late.allows(at("2026-03-29T02:00"))
    assert not late.allows(at("2026-03-29T23:00"))  # Sunday night


def test_a_freeze_wins_and_opens_at_the_next_window_after_it() -> None:
    frozen = Schedule(OFFICE.windows, (parse_freeze("2026-12-21 .. 2027-01-04 Europe/Berlin"),))
    assert not frozen.allows(at("2026-12-22T10:00"))
    assert frozen.why_closed(at("2026-12-22T10:00")).startswith("freeze 2026-12-21")
    # the freeze ends at midnight after 2027-01-04 (Berlin); Tuesday 09:00 CET then
    assert frozen.next_open(at("2026-12-22T10:00")) == at("2027-01-05T08:00")
    assert frozen.allows(at("2026-12-18T10:00"))


def test_a_freeze_with_times_and_no_windows() -> None:
    freeze = parse_freeze("2026-11-26 18:00 .. 2026-11-27 06:00 UTC")
    schedule = Schedule((), (freeze,))
    assert schedule.allows(at("2026-11-26T17:59"))
    assert not schedule.allows(at("2026-11-26T18:00"))
    assert schedule.next_open(at("2026-11-26T20:00")) == at("2026-11-27T06:00")


def test_no_windows_means_always() -> None:
    assert Schedule().allows(at("2026-01-01T03:00")) and not Schedule().declared


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("Mon", {0}),
        ("mon-wed", {0, 1, 2}),
        ("Fri-Mon", {4, 5, 6, 0}),
        ("Mon,Thu", {0, 3}),
        ("daily", set(range(7))),
    ],
)
def test_days(text: str, days: set[int]) -> None:
    assert parse_window(f"{text} 09:00-10:00").days == frozenset(days)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("weekdays 09:00-16:00", "'weekdays' is not a day"),
        ("Mon 9-16", "is not a window: write DAYS HH:MM-HH:MM"),
        ("Mon 09:00-16:00 Mars/Olympus", "unknown time zone 'Mars/Olympus'"),
        ("Mon 09:70-16:00", "09:70 is not a time of day"),
        ("Mon 10:00-10:00", "starts and ends at the same time"),
    ],
)
def test_bad_windows_say_what_is_expected(text: str, message: str) -> None:
    with pytest.raises(WindowError, match=message):
        parse_window(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2026-12-24", "is not a freeze: write DATE .. DATE"),
        ("2026-12-24 .. 2026-12-20", "ends before it starts"),
        ("2026-02-30 .. 2026-03-02", "'2026-02-30' is not a date"),
    ],
)
def test_bad_freezes(text: str, message: str) -> None:
    with pytest.raises(WindowError, match=message):
        parse_freeze(text)


@pytest.mark.parametrize(
    ("seconds", "text"), [(11520, "3h 12m"), (45, "45s"), (600, "10m"), (93600, "1d 2h")]
)
def test_format_wait(seconds: float, text: str) -> None:
    assert format_wait(seconds) == text
