"""Growth KPIs of new_business_value: month grain, for `all` and each team.

They run over every month from the first to the last month with events (any event type); each
dimension value uses its own monthly `new_business_value` (a month without a row is 0):
- mom(m) = v(m) / v(m-1) - 1, no row when v(m-1) is 0 (also for the first month: nothing
  happened before it); a month of 0 after a non-zero month gives -1;
- yoy(m) = v(m) / v(m-12) - 1, no row when v(m-12) is 0;
- yoy_change(m) = yoy(m) - yoy(m-1), a difference of ratios, only when both exist (both
  months inside the range).
Ratios are computed in floats from the exact Decimal sums.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal

from kpiflow.projections.engine.families import Family, diff_into
from kpiflow.projections.engine.periods import periods_between, previous_month
from kpiflow.projections.engine.rows import RowKey, Value

MOM, YOY, YOY_CHANGE = (
    "new_business_growth_mom",
    "new_business_growth_yoy",
    "new_business_growth_yoy_change",
)


class Growth(Family):
    def __init__(self) -> None:
        super().__init__()
        # (dimension_kind, dimension) -> month start -> new_business_value of that month
        self._values: dict[tuple[str, str], dict[date, Decimal]] = {}
        self._rows: dict[RowKey, Value] = {}
        self._months: tuple[date, date] | None = None
        self._stale = True

    def won(self, month: date, team: str, amount: Decimal | int, sign: int) -> None:
        """A new_business win worth `amount` in `month` (sign -1: withdrawn)."""
        for series in (("all", "all"), ("team", team)):
            by_month = self._values.setdefault(series, {})
            by_month[month] = by_month.get(month, Decimal(0)) + (amount if sign > 0 else -amount)
        self._stale = True

    def refresh(self, first: date | None, last: date | None) -> None:
        if first is None or last is None:
            return
        months = (first.replace(day=1), last.replace(day=1))
        if not self._stale and months == self._months:
            return
        self._months, self._stale = months, False
        span = [start for start, _ in periods_between("month", first, last)]
        rows = growth_rows(self._values, span)
        diff_into(self._changed, self._rows, rows)
        self._rows = rows

    def get(self, key: RowKey) -> Value | None:
        return self._rows.get(key)

    def items(self) -> Iterator[tuple[RowKey, Value]]:
        return iter(self._rows.items())


def growth_rows(
    values: dict[tuple[str, str], dict[date, Decimal]], months: list[date]
) -> dict[RowKey, Value]:
    rows: dict[RowKey, Value] = {}
    for (kind, dimension), by_month in values.items():
        yoy: dict[date, float] = {}
        for month in months:
            value = by_month.get(month, 0)
            previous = previous_month(month)
            mom = _growth(value, by_month.get(previous, 0))
            if mom is not None:
                rows[(MOM, "month", month, kind, dimension)] = mom
            growth = _growth(value, by_month.get(previous_month(month, 12), 0))
            if growth is not None:
                yoy[month] = growth
                rows[(YOY, "month", month, kind, dimension)] = growth
                if previous in yoy:  # yoy holds months of the span only
                    rows[(YOY_CHANGE, "month", month, kind, dimension)] = growth - yoy[previous]
    return rows


def _growth(value: Decimal | int, base: Decimal | int) -> float | None:
    return None if not base else float(value) / float(base) - 1.0
