"""Change windows and freezes: when a converge of a *new* commit may start. Pure functions.

A window is written ``DAYS HH:MM-HH:MM [ZONE]`` (``Mon-Fri 09:00-16:00 Europe/Berlin``); DAYS is a
day (``Sat``), a range (``Mon-Fri``, ``Fri-Mon``), a list (``Mon,Wed,Fri``) or ``daily``. An end
before the start runs past midnight (``Sat 22:00-02:00``); ``24:00`` is the end of the day.
A freeze is ``DATE .. DATE [ZONE]`` (whole days, both included) or ``DATE HH:MM .. DATE HH:MM
[ZONE]``. The zone defaults to UTC.

Windows follow the wall clock of their zone. Across a daylight-saving change that means: a
window whose start falls in the hour the clocks skip opens when the clocks jump past it; a window
in the hour that happens twice is open both times. No window declared: always open. A freeze
always wins over a window.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TIME = r"(\d{1,2}):(\d{2})"
_WINDOW = re.compile(rf"^\s*(\S+)\s+{_TIME}\s*-\s*{_TIME}(?:\s+(\S+))?\s*$")
_STAMP = r"(\d{4}-\d{2}-\d{2})(?:[ T](\d{1,2}:\d{2}))?"
_FREEZE = re.compile(rf"^\s*{_STAMP}\s*(?:\.\.|\bto\b)\s*{_STAMP}(?:\s+([A-Za-z_/+\-0-9]+))?\s*$")
# How far ahead next_open looks for a window start before it gives up (a window that never
# opens, e.g. only inside a year-long freeze, reads as "not within 400 days").
HORIZON = timedelta(days=400)


class WindowError(ValueError):
    """A window or freeze that cannot be read; the message says what is expected."""


@dataclass(frozen=True)
class Window:
    days: frozenset[int]  # 0 = Monday
    start: int  # minutes after local midnight
    end: int  # minutes after local midnight; end <= start: runs past midnight
    zone: str = "UTC"
    text: str = ""

    def contains(self, instant: datetime) -> bool:
        local = instant.astimezone(zone(self.zone))
        minute = local.hour * 60 + local.minute
        today, yesterday = local.weekday(), (local.weekday() - 1) % 7
        if self.end > self.start:
            return today in self.days and self.start <= minute < self.end
        return (today in self.days and minute >= self.start) or (
            yesterday in self.days and minute < self.end
        )

    def starts_after(self, instant: datetime) -> datetime | None:
        """The first instant after ``instant`` at which this window opens (within 8 days)."""
        tz = zone(self.zone)
        first = instant.astimezone(tz).date() - timedelta(days=1)
        for offset in range(9):
            day = first + timedelta(days=offset)
            if day.weekday() not in self.days:
                continue
            begin = wall_instant(day, self.start, tz)
            if begin > instant:
                return begin
        return None


@dataclass(frozen=True)
class Freeze:
    start: datetime  # aware, inclusive
    end: datetime  # aware, exclusive
    text: str = ""

    def contains(self, instant: datetime) -> bool:
        return self.start <= instant < self.end


@dataclass(frozen=True)
class Schedule:
    """The windows and freezes in force for one host."""

    windows: tuple[Window, ...] = ()
    freezes: tuple[Freeze, ...] = ()

    @property
    def declared(self) -> bool:
        return bool(self.windows or self.freezes)

    def allows(self, instant: datetime) -> bool:
        if any(freeze.contains(instant) for freeze in self.freezes):
            return False
        return not self.windows or any(window.contains(instant) for window in self.windows)

    def next_open(self, instant: datetime) -> datetime | None:
        """``instant`` when it is allowed, else the first allowed instant after it, or None
        when no window opens within :data:`HORIZON` (a freeze's end counts however far)."""
        candidate = instant
        for _ in range(10_000):
            if self.allows(candidate):
                return candidate
            ends = [f.end for f in self.freezes if f.contains(candidate)]
            if ends:
                candidate = max(ends)
                continue
            starts = [s for w in self.windows if (s := w.starts_after(candidate)) is not None]
            if not starts or min(starts) - instant > HORIZON:
                return None
            candidate = min(starts)
        return None

    def why_closed(self, instant: datetime) -> str:
        """A short reason: which freeze holds, or that no window is open."""
        for freeze in self.freezes:
            if freeze.contains(instant):
                return f"freeze {freeze.text}"
        return "outside the change windows"


def zone(name: str) -> tzinfo:
    if name.upper() == "UTC":
        return UTC
    return ZoneInfo(name)


def wall_instant(day: date, minute: int, tz: tzinfo) -> datetime:
    """The first instant at which the wall clock of ``tz`` on ``day`` shows ``minute``
    (after midnight), or the instant the clocks jump past it when that time is skipped."""
    naive = datetime.combine(day, time()) + timedelta(minutes=minute)
    first = naive.replace(tzinfo=tz, fold=0).astimezone(UTC)
    second = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    if first.astimezone(tz).replace(tzinfo=None) == naive:
        return min(first, second)  # normal, or shown twice (clocks set back): the first time
    # Skipped (clocks set forward): the jump lies between the two readings; find it.
    low, high = min(first, second), max(first, second)
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        shown = middle.astimezone(tz).replace(tzinfo=None)
        if shown >= naive:
            high = middle
        else:
            low = middle
    return high


def parse_window(text: str) -> Window:
    match = _WINDOW.match(text)
    if not match:
        raise WindowError(
            f"{text.strip()!r} is not a window: write DAYS HH:MM-HH:MM [ZONE], "
            "e.g. 'Mon-Fri 09:00-16:00 Europe/Berlin'"
        )
    days_text, h1, m1, h2, m2, zone_name = match.groups()
    start, end = _minutes(h1, m1, text), _minutes(h2, m2, text)
    if start == end:
        raise WindowError(f"{text.strip()!r}: the window starts and ends at the same time")
    if start >= 24 * 60:
        raise WindowError(f"{text.strip()!r}: a window starts before 24:00")
    return Window(_days(days_text), start, end, _zone_name(zone_name, text), text.strip())


def parse_freeze(text: str) -> Freeze:
    match = _FREEZE.match(text)
    if not match:
        raise WindowError(
            f"{text.strip()!r} is not a freeze: write DATE .. DATE [ZONE] (whole days, both "
            "included) or DATE HH:MM .. DATE HH:MM [ZONE], e.g. '2026-12-21 .. 2027-01-04'"
        )
    day1, time1, day2, time2, zone_name = match.groups()
    tz = zone(_zone_name(zone_name, text))
    start = _instant(day1, time1, tz, text, end_of_day=False)
    end = _instant(day2, time2, tz, text, end_of_day=time2 is None)
    if end <= start:
        raise WindowError(f"{text.strip()!r}: the freeze ends before it starts")
    return Freeze(start, end, text.strip())


def _instant(day: str, clock: str | None, tz: tzinfo, text: str, end_of_day: bool) -> datetime:
    try:
        parsed = date.fromisoformat(day)
    except ValueError:
        raise WindowError(f"{text.strip()!r}: {day!r} is not a date (YYYY-MM-DD)") from None
    if end_of_day:
        parsed += timedelta(days=1)
    hours, _, minutes = (clock or "0:00").partition(":")
    minute = _minutes(hours, minutes, text)
    return wall_instant(parsed, minute, tz)


def _minutes(hours: str, minutes: str, text: str) -> int:
    value = int(hours) * 60 + int(minutes)
    if int(minutes) >= 60 or value > 24 * 60:
        raise WindowError(f"{text.strip()!r}: {hours}:{minutes} is not a time of day")
    return value


def _days(text: str) -> frozenset[int]:
    if text.lower() in ("daily", "*"):
        return frozenset(range(7))
    days: set[int] = set()
    for part in text.lower().split(","):
        first, _, last = part.partition("-")
        a, b = _day(first, text), _day(last or first, text)
        days.update((a + i) % 7 for i in range((b - a) % 7 + 1))
    return frozenset(days)


def _day(name: str, text: str) -> int:
    key = name.strip()[:3]
    if key not in DAY_NAMES or not DAY_NAMES[DAY_NAMES.index(key)].startswith(name.strip()[:3]):
        raise WindowError(f"{text!r}: {name!r} is not a day (Mon, Tue, ... Sun, or daily)")
    return DAY_NAMES.index(key)


def _zone_name(name: str | None, text: str) -> str:
    if not name:
        return "UTC"
    try:
        zone(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise WindowError(
            f"{text.strip()!r}: unknown time zone {name!r} (write e.g. Europe/Berlin or UTC)"
        ) from None
    return name
