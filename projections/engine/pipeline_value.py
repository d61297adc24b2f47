"""pipeline_value: the open deal value at the end of each period, a point-in-time KPI.

Each deal contributes deltas (local date, team, rep, +-deals, +-amount) where its owner or
amount changes or it enters/leaves the pipeline (see `deals._pipeline_deltas`). Per series
(all, each team, each rep) the deltas are kept by local date; the value at a period's end is
the running sum of the deltas up to the period's last day.

Readings:
- `all` has a row for every period from the first event's to the last event's (any event type),
  0 included. The last period's value is after every event so far (its end is at or after the
  last event's date), so no clock is needed.
- A team or rep has a row for a period when it owns at least one open deal at the period's end
  (the value can be 0 when those deals are worth 0); otherwise no row, like the additive KPIs.
- Local dates are assumed not to go backwards as instants go forward (true unless a zone moves
  its clocks back across midnight); a deal's state at the end of a date is the state after the
  last of its events (by occurred_at, seq) on that date.

Incremental: a change of deltas on date D can only change periods ending on or after D, and a
later last event only adds periods after the previous last one, so each refresh recomputes, per
changed series, only the periods from the earliest such date on (in the live path: the current
day, week, month and quarter). An earlier first event recomputes everything.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterable, Iterator
from datetime import date
from decimal import Decimal

from kpiflow.projections.catalog import GRAINS
from kpiflow.projections.engine.families import Family
from kpiflow.projections.engine.periods import periods_between
from kpiflow.projections.engine.rows import RowKey, Value

KPI = "pipeline_value"
Series = tuple[str, str]  # (dimension_kind, dimension)
ALL: Series = ("all", "all")
ZERO = Decimal(0)


class _Series:
    """One series' deltas by local date, its dates in order, and the sum of all its deltas."""

    __slots__ = ("by_day", "days", "deals", "amount")

    def __init__(self) -> None:
        self.by_day: dict[date, list] = {}  # day -> [deals, amount]
        self.days: list[date] = []  # sorted keys of by_day
        self.deals = 0
        self.amount = ZERO

    def add(self, day: date, deals: int, amount: Decimal) -> None:
        self.deals += deals
        self.amount += amount
        cell = self.by_day.get(day)
        if cell is None:
            self.by_day[day] = [deals, amount]
            insort(self.days, day)
            return
        cell[0] += deals
        cell[1] += amount
        if not cell[0] and not cell[1]:
            del self.by_day[day]
            del self.days[bisect_left(self.days, day)]

    def after(self, since: date) -> tuple[list[date], list[int], list[Decimal]]:
        """The dates >= since, and for each the sum of the deltas from it to the end."""
        days = self.days[bisect_left(self.days, since) :]
        deals, amounts = [0], [ZERO]
        for day in reversed(days):
            cell = self.by_day[day]
            deals.append(deals[-1] + cell[0])
            amounts.append(amounts[-1] + cell[1])
        deals.reverse()
        amounts.reverse()
        return days, deals, amounts


class PipelineValue(Family):
    def __init__(self, kpi: str = KPI) -> None:
        super().__init__()
        self.kpi = kpi  # pipeline_value, or a custom KPI over it
        self._series: dict[Series, _Series] = {}
        self._rows: dict[Series, dict[RowKey, Value]] = {}
        self._dirty: dict[Series, date] = {}  # series -> earliest date whose periods may change
        self._first: date | None = None
        self._last: date | None = None
        self._periods: list[tuple[str, list[date], list[date]]] = []  # grain, starts, last days

    def add(self, deltas: Iterable[tuple[date, str, str, int, Decimal]], sign: int) -> None:
        for day, team, rep, count, amount in deltas:
            for series in (ALL, ("team", team), ("rep", rep)):
                state = self._series.get(series)
                if state is None:
                    state = self._series[series] = _Series()
                state.add(day, sign * count, amount if sign > 0 else -amount)
                self._mark(series, day)

    def _mark(self, series: Series, day: date) -> None:
        since = self._dirty.get(series)
        if since is None or day < since:
            self._dirty[series] = day

    def refresh(self, first: date | None, last: date | None) -> None:
        """Bring the rows up to date with the deltas and the span of dates [first, last]."""
        if first is None or last is None:
            return
        if (first, last) != (self._first, self._last):
            since = self._last if first == self._first else first
            self._first, self._last = first, last
            self._periods = []
            for grain in GRAINS:
                periods = periods_between(grain, first, last)
                self._periods.append((grain, [s for s, _ in periods], [e for _, e in periods]))
            for series in (*self._rows, *self._series, ALL):
                self._mark(series, since)  # type: ignore[arg-type]
        for series, since in self._dirty.items():
            self._recompute(series, since)
        self._dirty.clear()

    def _recompute(self, series: Series, since: date) -> None:
        """Rows of the periods ending on or after `since`: all deltas minus those after the end."""
        state = self._series.get(series) or _Series()
        days, deals_from, amounts_from = state.after(since)
        rows = self._rows.setdefault(series, {})
        kind, dimension = series
        every_period = series == ALL
        changed = self._changed
        for grain, starts, ends in self._periods:
            for i in range(bisect_left(ends, since), len(ends)):
                key = (self.kpi, grain, starts[i], kind, dimension)
                later = bisect_right(days, ends[i])
                if state.deals - deals_from[later] or every_period:
                    value = state.amount - amounts_from[later]
                    if key not in rows or rows[key] != value:
                        rows[key] = value
                        changed.add(key)
                elif key in rows:
                    del rows[key]
                    changed.add(key)
        if not rows:
            del self._rows[series]
        if not state.by_day:
            self._series.pop(series, None)

    def get(self, key: RowKey) -> Value | None:
        return self._rows.get((key[3], key[4]), {}).get(key)

    def items(self) -> Iterator[tuple[RowKey, Value]]:
        for rows in self._rows.values():
            yield from rows.items()
