"""Quarters, working days and review dates of a plan. Pure: no clock, no I/O.

A quarter is written `YYYY-Qn` (calendar quarters, as the `quarter` grain). Working days are the
plan's weekdays (default Monday to Friday) minus its holidays; pacing counts them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")


def weekday_index(name: str) -> int:
    """0 for Monday ... 6 for Sunday; accepts `mon` or `monday` in any case."""
    key = name.strip().lower()
    if key in WEEKDAYS:
        return WEEKDAYS.index(key)
    if key in _FULL_NAMES:
        return _FULL_NAMES.index(key)
    raise ValueError(f"{name!r} is not a weekday; use one of {', '.join(WEEKDAYS)}")


@dataclass(frozen=True, order=True)
class Quarter:
    year: int
    number: int

    @classmethod
    def parse(cls, text: str) -> Quarter:
        match = _QUARTER.match(text.strip()) if isinstance(text, str) else None
        if not match:
            raise ValueError(f"{text!r} is not a quarter; write it like 2026-Q4")
        return cls(int(match[1]), int(match[2]))

    @classmethod
    def of(cls, day: date) -> Quarter:
        return cls(day.year, (day.month - 1) // 3 + 1)

    @property
    def start(self) -> date:
        return date(self.year, 3 * self.number - 2, 1)

    @property
    def end(self) -> date:
        """The last day of the quarter."""
        if self.number == 4:
            return date(self.year, 12, 31)
        return date(self.year, 3 * self.number + 1, 1) - timedelta(days=1)

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end

    def days(self) -> list[date]:
        count = (self.end - self.start).days + 1
        return [self.start + timedelta(days=i) for i in range(count)]

    def __str__(self) -> str:
        return f"{self.year}-Q{self.number}"


def working_days(
    quarter: Quarter, weekdays: Iterable[int], holidays: Iterable[date]
) -> tuple[date, ...]:
    """The quarter's days that fall on one of `weekdays` (0 = Monday) and are not holidays."""
    allowed = set(weekdays)
    off = set(holidays)
    return tuple(d for d in quarter.days() if d.weekday() in allowed and d not in off)


def elapsed_working_days(days: Iterable[date], as_of: date) -> int:
    """Completed working days on `as_of`: those strictly before it (today is not done yet)."""
    return sum(1 for d in days if d < as_of)


def review_dates(quarter: Quarter, rhythm: str, day: str | int) -> tuple[date, ...]:
    """The review meetings of the quarter.

    weekly: every `day` (a weekday); biweekly: the first `day` of the quarter, then every two
    weeks; monthly: a weekday means the first such weekday of each month, a number the day of
    the month.
    """
    if rhythm == "monthly" and isinstance(day, int):
        return tuple(date(quarter.year, quarter.start.month + i, day) for i in range(3))
    target = weekday_index(str(day))
    first = quarter.start + timedelta(days=(target - quarter.start.weekday()) % 7)
    if rhythm == "monthly":
        out = []
        for i in range(3):
            month_start = date(quarter.year, quarter.start.month + i, 1)
            out.append(month_start + timedelta(days=(target - month_start.weekday()) % 7))
        return tuple(out)
    step = timedelta(days=7 if rhythm == "weekly" else 14)
    out = []
    current = first
    while current <= quarter.end:
        out.append(current)
        current += step
    return tuple(out)
