"""The one KPI engine (pure): EventRecords in, KPI rows out. See `engine.KpiEngine`."""

from kpiflow.projections.engine.engine import KpiEngine
from kpiflow.projections.engine.rows import KpiRow, RowKey

__all__ = ["KpiEngine", "KpiRow", "RowKey"]
