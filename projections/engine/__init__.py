"""The one KPI engine (pure): EventRecords in, KPI rows out. See `engine.KpiEngine`."""

from projections.engine.engine import KpiEngine
from projections.engine.rows import KpiRow, RowKey

__all__ = ["KpiEngine", "KpiRow", "RowKey"]
