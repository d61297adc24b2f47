"""A KPI of the catalog over time, one series per selected team or rep (from `kpi_values`).

The projections are the numbers: dashboards read `kpi_values` (live definition version) and
never recompute a KPI. A missing row reads as 0 for additive KPIs (docs/kpis.md), so these
panels draw additive KPIs as bars.
"""

from __future__ import annotations

from typing import Literal

from kpiflow.dashboards.defaults import Options, Sql, time_series
from kpiflow.dashboards.guard import require_rankable
from kpiflow.projections.catalog import kpi as catalog_kpi

Grain = Literal["selected", "day", "week", "month", "quarter"]

_UNITS = {"count": "short", "ratio": "percentunit", "days": "d"}


def kpi_series_sql(kpi: str, by: Literal["team", "rep"], grain: Grain) -> Sql:
    """Per-period values of one KPI for the selected teams or reps.

    `grain="selected"` follows the dashboard's `grain` variable; a fixed grain is for KPIs that
    exist at one grain only (growth: month, retention: quarter).
    """
    spec = catalog_kpi(kpi)
    if by == "rep":
        require_rankable(kpi, where=f"a per-rep series of {kpi}")
    if grain != "selected" and grain not in spec.grains:
        raise ValueError(f"{kpi} has no {grain} grain (grains: {', '.join(spec.grains)})")
    grain_sql = "${grain:singlequote}" if grain == "selected" else f"'{grain}'"
    return Sql(
        columns=("time", by, "value"),
        time_series=True,
        text=f"""
            SELECT
                toDateTime(period_start, ${{tz:singlequote}}) AS time,
                dimension AS {by},
                value
            FROM kpi_values
            WHERE kpi = '{spec.name}'
              AND grain = {grain_sql}
              AND dimension_kind = '{by}'
              AND hex(dimension) IN (${{{by}:singlequote}})
              AND $__dateFilter(period_start)
            ORDER BY time, {by}
        """,  # noqa: S608 (code constants and catalog names; values are Grafana variables)
    )


def kpi_series(
    opts: Options,
    kpi: str,
    by: Literal["team", "rep"],
    *,
    title: str,
    grain: Grain = "selected",
    w: int = 12,
    h: int = 8,
) -> object:
    spec = catalog_kpi(kpi)
    unit = opts.money_unit if spec.value_type == "amount" else _UNITS[spec.value_type]
    return time_series(
        opts,
        title,
        kpi_series_sql(kpi, by, grain),
        label=by,
        unit=unit,
        bars=spec.additive,
        w=w,
        h=h,
        description=(
            f"`{kpi}` ({spec.kind} KPI): {spec.description}. One series per {by}; from kpi_values."
        ),
    )
