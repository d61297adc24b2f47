"""kpiflow report."""

from __future__ import annotations

import sys
from enum import Enum
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from kpiflow.commands.common import console, custom_kpis_of, day_option, err_console, settings
from kpiflow.errors import ConfigError


class Fmt(str, Enum):
    jsonl = "jsonl"
    csv = "csv"
    table = "table"


def report(
    kpi: Annotated[
        str,
        typer.Argument(
            help="a KPI of the catalog (e.g. activity_points), or stage_days for every stage"
        ),
    ],
    grain: Annotated[
        str, typer.Option("--grain", "-g", help="day, week (ISO, Monday), month or quarter")
    ] = "week",
    by: Annotated[
        str, typer.Option("--by", "-b", help="all, team or rep (insight KPIs: all and team)")
    ] = "all",
    start: Annotated[
        str | None,
        typer.Option("--from", help="first day (YYYY-MM-DD); periods overlapping it are included"),
    ] = None,
    end: Annotated[str | None, typer.Option("--to", help="last day (YYYY-MM-DD)")] = None,
    fmt: Annotated[
        Fmt, typer.Option("--format", "-f", help="jsonl (one object per line), csv, or table")
    ] = Fmt.jsonl,
    version: Annotated[
        int | None, typer.Option(help="a definition version instead of the live one")
    ] = None,
) -> None:
    """Print KPI values from the ClickHouse projections (never recomputed from raw events).

    Works while the worker runs: with the embedded ClickHouse it asks the worker.
    """
    from kpiflow.projections.catalog import find, spec_of
    from kpiflow.projections.custom import NAME
    from kpiflow.projections.report import build_query, fetch, render_csv, render_jsonl
    from kpiflow.projections.store import open_store
    from kpiflow.projections.versions import list_versions

    first, last = day_option(start, "--from"), day_option(end, "--to")
    if find(kpi) is not None or kpi == "stage_days" or not NAME.match(kpi):
        build_query(kpi, grain, by, first, last, version)  # refused before any connection
    s = settings()
    store = open_store(s)
    try:
        if version is not None and version not in {r["version"] for r in list_versions(store)}:
            raise ConfigError(f"no definition version {version}; see `kpiflow definitions`")
        with custom_kpis_of(store):  # a custom KPI of a stored definition version
            q = build_query(kpi, grain, by, first, last, version)
            rows = fetch(store, q)
            value_types = {name: spec_of(name).value_type for name in q.kpis}
        if not rows:
            err_console.print(Text(_no_rows(store, s, kpi, first, last), style="yellow"))
    finally:
        store.close()
    if fmt is Fmt.jsonl:
        sys.stdout.write(render_jsonl(rows))
    elif fmt is Fmt.csv:
        sys.stdout.write(render_csv(rows))
    else:
        table = Table(title=f"{kpi} by {by}, {grain}")
        for col in ("kpi", "period_start", "dimension", "value"):
            table.add_column(col, justify="right" if col == "value" else "left")
        for r in rows:
            table.add_row(
                *(escape(str(r[c])) for c in ("kpi", "period_start", "dimension")),
                _shown(r["value"], value_types[r["kpi"]], s.pipeline.currency),
            )
        console.print(table)


def _shown(value: float, value_type: str, currency: str) -> str:
    """A value for people: counts whole, amounts to the cent with the currency, ratios to three
    decimals, days to one (jsonl and csv keep the full value)."""
    if value_type == "count":
        return f"{value:,.0f}"
    if value_type == "amount":
        return f"{value:,.2f} {currency}"
    if value_type == "ratio":
        return f"{value:.3f}"
    return f"{value:,.1f} d"


def _no_rows(store, s, kpi: str, first, last) -> str:
    """Why a report is empty: which data directory, and which dates the raw log covers."""
    span = store.rows(
        "SELECT count() AS n, toString(toDate(min(occurred_at))) AS a, "
        "toString(toDate(max(occurred_at))) AS b FROM {db}.raw_events"
    )[0]
    asked = f" from {first or 'the start'} to {last or 'now'}" if first or last else ""
    where = f"data directory {s.pipeline.data_dir.resolve()}"
    if not int(span["n"]):
        return (
            f"no rows for {kpi}{asked}: the raw event log is empty ({where}). Publish events "
            "(`kpiflow publish`, `kpiflow simulate`) with the worker running, or run this from "
            "the folder you ran `kpiflow up` in."
        )
    return (
        f"no rows for {kpi}{asked}: the raw event log holds {span['n']} events from {span['a']} "
        f"to {span['b']} ({where}); nothing counted for this KPI there."
    )


def register(app: typer.Typer) -> None:
    app.command()(report)
