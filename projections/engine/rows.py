"""What the engine hands out: one KPI value for one period and one dimension value."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from projections.catalog import DIMENSIONS, GRAINS

Value = int | float | Decimal

# (kpi, grain, period_start, dimension_kind, dimension): the identity of a row.
RowKey = tuple[str, str, date, str, str]

# (grain, period_start, dimension_kind, dimension): a row key without its KPI.
Slot = tuple[str, date, str, str]

_GRAIN_ORDER = {grain: i for i, grain in enumerate(GRAINS)}
_DIMENSION_ORDER = {kind: i for i, kind in enumerate(DIMENSIONS)}


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


def sort_key(key: RowKey) -> tuple[str, int, date, int, str]:
    """Deterministic order: KPI name, grain (day..quarter), period, dimension kind, value."""
    kpi, grain, start, kind, dimension = key
    return (kpi, _GRAIN_ORDER[grain], start, _DIMENSION_ORDER[kind], dimension)
