"""Projections against a recomputation: the raw log through the same pure KPI engine, in bulk.

Every built definition version (status ready or live) is recomputed from `raw_events` with
`KpiEngine(definition, tz).apply(...)` then `rows()`, and compared with its rows in
`kpi_values_all_versions`: missing, extra, or different beyond a small float tolerance.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import date
from itertools import islice
from zoneinfo import ZoneInfo

from kpiflow.projections import versions
from kpiflow.projections.definitions import Definition
from kpiflow.projections.engine import KpiEngine
from kpiflow.projections.engine.rows import KpiRow, RowKey
from kpiflow.projections.rawlog import read_all_records
from kpiflow.projections.verify.findings import Report

KPIS = "kpis"
BUILT = ("ready", "live")
CHUNK = 100_000


def built_definitions(store, report: Report, only: int | None = None) -> list[Definition]:
    """Definitions to compare; versions still building are noted and skipped."""
    out = []
    for row in versions.list_versions(store):
        if only is not None and row["version"] != only:
            continue
        if row["status"] in BUILT:
            out.append(versions.load_definition(row))
        elif row["status"] == "building":
            report.add(KPIS, "not_built", f"v{row['version']}", "ready or live", "building")
    return out


def recompute(store, definitions: list[Definition], tz: ZoneInfo) -> dict[int, list[KpiRow]]:
    """Rows of each definition from the whole raw log (read once, in chunks, fed to each engine)."""
    engines = {d.version: KpiEngine(d, tz) for d in definitions}
    if not engines:
        return {}
    attributes = any(d.kpis for d in definitions)  # read what custom KPIs filter on, if any
    records = read_all_records(store, chunk_rows=CHUNK, attributes=attributes)
    while chunk := list(islice(records, CHUNK)):
        for engine in engines.values():
            engine.apply(chunk)
    return {version: engine.rows() for version, engine in engines.items()}


def projected(store, version: int) -> dict[RowKey, float]:
    """Current rows of one version in the projections."""
    table = store.arrow(
        "SELECT kpi, grain, period_start, dimension_kind, dimension, value "
        "FROM {db}.kpi_values_all_versions WHERE definition_version = {v:UInt32}",
        {"v": version},
    )
    cols = [
        table.column(name).to_pylist()
        for name in ("kpi", "grain", "period_start", "dimension_kind", "dimension", "value")
    ]
    out: dict[RowKey, float] = {}
    for kpi, grain, start, kind, dim, value in zip(*cols, strict=True):
        out[(kpi, grain, _day(start), kind, dim)] = value
    return out


def compare_rows(
    version: int,
    expected: Iterable[KpiRow],
    actual: Mapping[RowKey, float],
    tolerance: float,
    report: Report,
) -> int:
    """Add a finding per missing, extra or different row; returns the number of rows compared."""
    seen = set()
    n = 0
    for row in expected:
        n += 1
        key = row.key
        seen.add(key)
        want = float(row.value)
        if key not in actual:
            report.add(KPIS, "missing", _subject(version, key), _num(want), "no row")
        elif not same_value(want, actual[key], tolerance):
            report.add(KPIS, "different", _subject(version, key), _num(want), _num(actual[key]))
    for key, value in actual.items():
        if key not in seen:
            report.add(KPIS, "extra", _subject(version, key), "no row", _num(value))
    return n


def same_value(want: float, got: float | None, tolerance: float) -> bool:
    if got is None or math.isnan(got) or math.isnan(want):
        return got is not None and math.isnan(got) and math.isnan(want)
    return math.isclose(want, got, rel_tol=tolerance, abs_tol=tolerance)


def _day(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _subject(version: int, key: RowKey) -> str:
    kpi, grain, start, kind, dim = key
    who = "all" if kind == "all" else f"{kind} {dim}"
    return f"v{version} {kpi} {grain} {start.isoformat()} {who}"


def _num(value: float) -> str:
    if math.isfinite(value) and float(value).is_integer():
        return str(int(value))
    return f"{value:.12g}"
