"""Simulated days in the org's local zone, and fast RFC 3339 stamps for seconds of a local day.

A simulated instant is (day index, second of the local day). Most days have one UTC offset all
day long, so a stamp is a date prefix, a precomputed "HH:MM:SS" and an offset suffix, and the
second of the day is itself the sort key. Days with an offset change (DST) take the slow,
exact path through zoneinfo.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

DAY_SECONDS = 86_400


@cache
def hms_table() -> tuple[str, ...]:
    """The text HH:MM:SS of every second of a day (built once per process, about 5 MB)."""
    return tuple(f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(DAY_SECONDS))


def offset_text(offset: timedelta | None) -> str:
    total = int(offset.total_seconds()) if offset is not None else 0
    sign = "-" if total < 0 else "+"
    total = abs(total)
    return f"{sign}{total // 3600:02d}:{total // 60 % 60:02d}"


def rfc3339(moment: datetime, zone: ZoneInfo, timespec: str = "seconds") -> str:
    """An aware instant written in `zone`'s local time with its offset, e.g. ...T14:03:12+01:00."""
    local = moment.astimezone(zone)
    return local.replace(tzinfo=None).isoformat(timespec=timespec) + offset_text(local.utcoffset())


class DayClock:
    """Stamps and sort keys for the seconds of one local day."""

    def __init__(self, day: date, zone: ZoneInfo) -> None:
        self.day = day
        self.zone = zone
        first = zone.utcoffset(datetime.combine(day, time(0, 0)))
        last = zone.utcoffset(datetime.combine(day, time(23, 59, 59)))
        self.fast = first == last
        self.prefix = day.isoformat() + "T"
        self.suffix = offset_text(first)

    def instant(self, sec: int) -> datetime:
        """The real instant of a local wall-clock second (a time skipped by DST moves forward)."""
        wall = datetime.combine(self.day, time(0, 0), tzinfo=self.zone) + timedelta(seconds=sec)
        return wall.astimezone(UTC)

    def key(self, sec: int) -> float:
        return sec if self.fast else self.instant(sec).timestamp()

    def stamp(self, sec: int) -> str:
        if self.fast:
            return self.prefix + hms_table()[sec] + self.suffix
        return rfc3339(self.instant(sec), self.zone)


class DayCalendar:
    """Day indexes 0..days-1 from `start`; workdays are Monday to Friday."""

    def __init__(self, start: date, days: int, zone: ZoneInfo) -> None:
        self.start = start
        self.days = days
        self.zone = zone
        self._first_weekday = start.weekday()

    def date(self, day: int) -> date:
        return self.start + timedelta(days=day)

    def weekday(self, day: int) -> int:
        return (self._first_weekday + day) % 7

    def is_workday(self, day: int) -> bool:
        return self.weekday(day) < 5

    def next_workday(self, day: int) -> int:
        """`day` itself when it is a workday, else the Monday after."""
        while not self.is_workday(day):
            day += 1
        return day

    def add_workdays(self, day: int, count: int) -> int:
        """The workday `count` workdays after `day` (may be past the window)."""
        for _ in range(count):
            day = self.next_workday(day + 1)
        return day

    def clock(self, day: int) -> DayClock:
        return DayClock(self.date(day), self.zone)
