"""Local dates, periods and the row slots an event lands in, in the reporting time zone.

`PeriodCalendar` caches what it computes (one engine owns one calendar; nothing is global):
- the local date of an instant, per UTC hour: every instant of a UTC hour has the same local
  date unless the hour holds a local midnight or an offset change (then it converts exactly);
- the four period starts of a local date (day, ISO week from Monday, month, calendar quarter);
- the slots (grain, period_start, dimension_kind, dimension) of a (local date, team, rep).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from kpiflow.projections.catalog import GRAINS
from kpiflow.projections.engine.rows import Slot

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_MICROSECOND = timedelta(microseconds=1)
MICROSECONDS_PER_DAY = 86_400_000_000
_HOUR = timedelta(hours=1)


def micros(instant: datetime) -> int:
    """Exact microseconds since the epoch of an aware datetime (for ordering and durations)."""
    return (instant - EPOCH) // ONE_MICROSECOND


def period_starts(day: date) -> tuple[date, date, date, date]:
    """(day, ISO week Monday, month start, quarter start) of a local date, in GRAINS order."""
    return (
        day,
        day - timedelta(days=day.weekday()),
        day.replace(day=1),
        date(day.year, day.month - (day.month - 1) % 3, 1),
    )


def next_period(grain: str, start: date) -> date:
    """The first day of the period after the one starting at `start`."""
    if grain == "day":
        return start + timedelta(days=1)
    if grain == "week":
        return start + timedelta(days=7)
    months = 1 if grain == "month" else 3
    month = start.month - 1 + months
    return date(start.year + month // 12, month % 12 + 1, 1)


def previous_month(start: date, months: int = 1) -> date:
    """The first day of the month `months` before the month starting at `start`."""
    index = start.year * 12 + start.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


def periods_between(grain: str, first: date, last: date) -> list[tuple[date, date]]:
    """(start, last day) of every period of `grain` from the one holding `first` to `last`'s."""
    start = period_starts(first)[GRAINS.index(grain)]
    out = []
    while start <= last:
        following = next_period(grain, start)
        out.append((start, following - timedelta(days=1)))
        start = following
    return out


class PeriodCalendar:
    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz
        self._hours: dict[float, date | Literal[False]] = {}  # UTC hour -> its local date, or False
        self._periods: dict[date, tuple[date, date, date, date]] = {}
        self._slots: dict[tuple[date, str, str], tuple[Slot, ...]] = {}
        self._team_slots: dict[tuple[date, str], tuple[Slot, ...]] = {}

    def __getstate__(self) -> dict:
        return {"tz": self.tz}  # the caches are rebuilt on use (a snapshot stays small)

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["tz"])  # type: ignore[misc]

    @property
    def hour_dates(self) -> dict[float, date | Literal[False]]:
        """The per-UTC-hour cache, for the activity hot loop (`timestamp() // 3600` -> date)."""
        return self._hours

    def local_date(self, instant: datetime) -> date:
        """The local calendar date of an aware instant."""
        hour = instant.timestamp() // 3600
        cached = self._hours.get(hour)
        if cached is None:
            cached = self._hours[hour] = self._hour_date(hour)
        if cached:
            return cached
        return instant.astimezone(self.tz).date()

    def _hour_date(self, hour: float) -> date | Literal[False]:
        start = (EPOCH + _HOUR * hour).astimezone(self.tz)
        end = (EPOCH + _HOUR * (hour + 1) - ONE_MICROSECOND).astimezone(self.tz)
        if start.utcoffset() == end.utcoffset() and start.date() == end.date():
            return start.date()
        return False

    def offset_changes(self, first_us: int, last_us: int) -> tuple[list[int], list[int]]:
        """The zone's UTC offsets from `first_us` to `last_us` (microseconds since the epoch):
        `(starts, offsets)` in microseconds, `offsets[0]` in force at `first_us` and
        `offsets[i + 1]` from `starts[i]` on.

        The local date of an instant t in that span is `(t + offset(t)) // MICROSECONDS_PER_DAY`
        days after 1970-01-01, the date `local_date` gives: ClickHouse counts activities per
        local date with this table, so the zone's rules stay Python's (`zoneinfo`). Offsets are
        looked at every hour and each change is found to the second (zones change on whole
        seconds, never twice within an hour)."""
        offset_of = self._offset_us
        end = last_us // 1_000_000 + 1
        second = first_us // 1_000_000
        offsets = [offset_of(second)]
        starts: list[int] = []
        while second < end:
            following = min(second + 3600, end)
            if offset_of(following) == offsets[-1]:
                second = following
                continue
            low, high = second, following  # offset(low) is the current one, offset(high) not
            while high - low > 1:
                middle = (low + high) // 2
                if offset_of(middle) == offsets[-1]:
                    low = middle
                else:
                    high = middle
            starts.append(high * 1_000_000)
            offsets.append(offset_of(high))
            second = high
        return starts, offsets

    def _offset_us(self, second: int) -> int:
        offset = datetime.fromtimestamp(second, self.tz).utcoffset()
        return offset // ONE_MICROSECOND if offset is not None else 0

    def periods(self, day: date) -> tuple[date, date, date, date]:
        found = self._periods.get(day)
        if found is None:
            found = self._periods[day] = period_starts(day)
        return found

    def slots(self, day: date, team: str, rep: str) -> tuple[Slot, ...]:
        """The 12 slots (4 grains x all/team/rep) an action or result KPI event counts in."""
        key = (day, team, rep)
        found = self._slots.get(key)
        if found is None:
            found = self._slots[key] = tuple(
                (grain, start, kind, value)
                for grain, start in zip(GRAINS, self.periods(day), strict=True)
                for kind, value in (("all", "all"), ("team", team), ("rep", rep))
            )
        return found

    def team_slots(self, day: date, team: str) -> tuple[Slot, ...]:
        """The 8 slots (4 grains x all/team) an insight KPI event counts in."""
        key = (day, team)
        found = self._team_slots.get(key)
        if found is None:
            found = self._team_slots[key] = tuple(
                (grain, start, kind, value)
                for grain, start in zip(GRAINS, self.periods(day), strict=True)
                for kind, value in (("all", "all"), ("team", team))
            )
        return found
