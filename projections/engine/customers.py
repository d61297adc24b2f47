"""retention_rate: quarter grain, `all` and team, from per-customer state.

Per customer: the won `new_business` deals (from deal outcomes, so a deal that stops being won
is withdrawn) and the earliest `customer.churned` (by occurred_at, seq, event_id). The customer's
team is the team of the won event of its first won new_business deal (by won instant).

For each quarter from the first event's quarter to the last event's quarter:
- active at its start: first new_business win on a local date before the quarter's first day,
  and no churn on a local date before that day (a churned customer is never active again);
- retained: active, and no churn on or before the quarter's last day (for the last quarter:
  so far). The value is retained / active; no row when nobody was active.
Each customer's part (quarter, team, retained) is retracted and re-added when the customer
changes; every customer is recounted when the span of quarters changes.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from kpiflow.projections.engine.deals import Win
from kpiflow.projections.engine.families import Family
from kpiflow.projections.engine.periods import micros, periods_between
from kpiflow.projections.engine.rows import RowKey, Value
from kpiflow.projections.records import EventRecord

KPI = "retention_rate"

# (micros, seq, event_id, local date)
Churn = tuple[int, int, str, date]


class Customers(Family):
    def __init__(self) -> None:
        super().__init__()
        self._wins: dict[str, set[Win]] = {}
        self._churn: dict[str, Churn] = {}
        self._dirty: set[str] = set()
        self._quarters: list[tuple[date, date]] = []
        self._counted: dict[str, tuple[tuple[date, str, int], ...]] = {}  # customer -> its part
        self._counts: dict[RowKey, list[int]] = {}  # row -> [retained, active]

    def won(self, customer: str, win: Win, sign: int) -> None:
        wins = self._wins.setdefault(customer, set())
        if sign > 0:
            wins.add(win)
        else:
            wins.discard(win)
            if not wins:
                del self._wins[customer]
        self._dirty.add(customer)

    def churned(self, record: EventRecord, day: date) -> None:
        if not record.customer_id:
            return
        churn = (micros(record.occurred_at), record.seq, record.event_id, day)
        current = self._churn.get(record.customer_id)
        if current is None or churn < current:
            self._churn[record.customer_id] = churn
            self._dirty.add(record.customer_id)

    def refresh(self, first: date | None, last: date | None) -> None:
        """Recount the customers that changed; all of them when the quarters change."""
        if first is None or last is None:
            return
        quarters = periods_between("quarter", first, last)
        if quarters != self._quarters:
            self._quarters = quarters
            self._dirty.update(self._counted)
            self._dirty.update(self._wins)
        for customer in self._dirty:
            new = self._part(customer)
            old = self._counted.get(customer, ())
            if new == old:
                continue
            self._count(old, -1)
            self._count(new, 1)
            if new:
                self._counted[customer] = new
            else:
                del self._counted[customer]
        self._dirty.clear()

    def _part(self, customer: str) -> tuple[tuple[date, str, int], ...]:
        """(quarter start, team, retained) for each quarter the customer is active at."""
        wins = self._wins.get(customer)
        if not wins:
            return ()
        _, _, _, won_day, team = min(wins)
        churn = self._churn.get(customer)
        churn_day = churn[3] if churn is not None else None
        part = []
        for start, end in self._quarters:
            if won_day >= start:
                continue
            if churn_day is not None and churn_day < start:
                break
            part.append((start, team, int(churn_day is None or churn_day > end)))
        return tuple(part)

    def _count(self, part: tuple[tuple[date, str, int], ...], sign: int) -> None:
        for start, team, kept in part:
            for kind, dimension in (("all", "all"), ("team", team)):
                key = (KPI, "quarter", start, kind, dimension)
                cell = self._counts.setdefault(key, [0, 0])
                cell[0] += sign * kept
                cell[1] += sign
                if not cell[1]:
                    del self._counts[key]
                self._changed.add(key)

    def get(self, key: RowKey) -> Value | None:
        cell = self._counts.get(key)
        return None if cell is None else cell[0] / cell[1]

    def items(self) -> Iterator[tuple[RowKey, Value]]:
        for key, (kept, active) in self._counts.items():
            yield key, kept / active
