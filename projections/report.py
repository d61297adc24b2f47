"""Reading KPI values back from the projections (`kpiflow report`), never from raw events."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from kpiflow.errors import ConfigError
from kpiflow.projections.catalog import GRAINS, STAY_STAGES, KpiSpec, kpi, spec_of
from kpiflow.projections.engine.periods import period_starts


@dataclass(frozen=True)
class ReportQuery:
    kpis: tuple[str, ...]
    grain: str
    by: str
    start: date | None = None
    end: date | None = None
    version: int | None = None  # None = the live version


def period_floor(day: date, grain: str) -> date:
    """First day of the `grain` period that contains `day`."""
    return period_starts(day)[GRAINS.index(grain)]


def resolve(name: str) -> tuple[str, ...]:
    """A KPI name, or `stage_days` for every stage_days:<stage>."""
    if name == "stage_days":
        return tuple(f"stage_days:{s}" for s in STAY_STAGES)
    kpi(name)
    return (name,)


def build_query(
    name: str, grain: str, by: str, start: date | None, end: date | None, version: int | None = None
) -> ReportQuery:
    names = resolve(name)
    if grain not in GRAINS:
        raise ConfigError(f"unknown grain {grain!r}; use one of {', '.join(GRAINS)}")
    for n in names:
        spec = spec_of(n)
        if grain not in spec.grains:
            raise ConfigError(
                f"{n} is reported at {', '.join(spec.grains)} grain only, not {grain}"
            )
        if by not in spec.dimensions:
            if by == "rep" and spec.kind == "insight":
                raise ConfigError(
                    f"{n} is an insight KPI: it is reported for all and team only, never per rep "
                    "(insight KPIs must not be used to judge individual reps)"
                )
            raise ConfigError(f"unknown dimension {by!r}; use one of {', '.join(spec.dimensions)}")
    if start and end and start > end:
        raise ConfigError(f"--from {start} is after --to {end}")
    return ReportQuery(names, grain, by, start, end, version)


def fetch(store, q: ReportQuery) -> list[dict[str, Any]]:
    source = "{db}.kpi_values" if q.version is None else "{db}.kpi_values_all_versions"
    # source is one of two constant view names; every value is a bound parameter
    sql = (
        "SELECT kpi, grain, toString(period_start) AS period, dimension, value "  # noqa: S608
        f"FROM {source} "
        "WHERE kpi IN {kpis:Array(String)} AND grain = {grain:String} AND dimension_kind = "
        "{by:String} "
        "AND period_start >= {start:Date} AND period_start <= {end:Date}"
    )
    params: dict[str, Any] = {
        "kpis": list(q.kpis),
        "grain": q.grain,
        "by": q.by,
        "start": period_floor(q.start, q.grain) if q.start else date(1970, 1, 1),
        "end": q.end or date(2149, 6, 6),
    }
    if q.version is not None:
        sql += " AND definition_version = {version:UInt32}"
        params["version"] = q.version
    sql += " ORDER BY kpi, period_start, dimension"
    return [typed(r) for r in store.rows(sql, params)]


def typed(row: dict[str, Any]) -> dict[str, Any]:
    """Counts as integers, everything else as floats (amounts rounded to cents)."""
    spec: KpiSpec = spec_of(row["kpi"])
    value = row["value"]
    if spec.value_type == "count":
        value = int(round(value))
    elif spec.value_type == "amount":
        value = round(float(value), 2)
    else:
        value = float(value)
    return {
        "kpi": row["kpi"],
        "grain": row["grain"],
        "period_start": row["period"],
        "dimension": row["dimension"],
        "value": value,
    }


def render_jsonl(rows: Iterable[dict[str, Any]]) -> str:
    return "".join(json.dumps(r, separators=(", ", ": ")) + "\n" for r in rows)


def render_csv(rows: Iterable[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(
        out, fieldnames=["kpi", "grain", "period_start", "dimension", "value"], lineterminator="\n"
    )
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()
