"""What the engine hands out: one KPI value for one period and one dimension value."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

Value = int | float | Decimal

# (kpi, grain, period_start, dimension_kind, dimension): the identity of a row. Rows and
# changes are handed out sorted by it (plain tuple order: deterministic and cheap).
RowKey = tuple[str, str, date, str, str]

# (grain, period_start, dimension_kind, dimension): a row key without its KPI.
Slot = tuple[str, date, str, str]


@dataclass(frozen=True, slots=True)
class KpiRow:
    kpi: str  # catalog name, e.g. "activity_points", "stage_days:proposal"
    grain: str  # day | week | month | quarter
    period_start: date  # first local day of the period, in the reporting time zone
    dimension_kind: str  # all | team | rep
    dimension: str  # "all" for all, else the team_id / rep_id
    value: Value  # counts int, amounts Decimal, ratios and days float

    @property
    def key(self) -> RowKey:
        return (self.kpi, self.grain, self.period_start, self.dimension_kind, self.dimension)


def row_from(key: RowKey, value: Value) -> KpiRow:
    return KpiRow(key[0], key[1], key[2], key[3], key[4], value)
