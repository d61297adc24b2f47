"""kpiflow sql: read-only SQL for ops, on the embedded engine (through the worker) or a server."""

from __future__ import annotations

import csv
import io
import json
import sys
from enum import Enum
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from kpiflow.commands.common import console, settings
from kpiflow.errors import KpiflowError

HELP = (
    "Run one read-only SQL statement and print the rows. Unqualified names read the kpiflow "
    "database (KPIFLOW_CLICKHOUSE_DATABASE); the tables and views are in "
    "docs/data-dictionary.md. While `kpiflow worker` owns the embedded engine the query goes "
    "through the worker; with a server (KPIFLOW_CLICKHOUSE_DSN) it goes there. Either way it "
    "runs with readonly=1: no writes, no DDL, no settings changes. `--endpoint` prints how a "
    "standard ClickHouse client (clickhouse-connect, Grafana) connects to the worker instead."
)


class Fmt(str, Enum):
    table = "table"
    csv = "csv"
    jsonl = "jsonl"
    json = "json"


def sql(
    statement: Annotated[
        str | None, typer.Argument(help='e.g. "SELECT kpi, count() FROM kpi_values GROUP BY kpi"')
    ] = None,
    fmt: Annotated[Fmt, typer.Option("--format", "-f", help="table, csv, jsonl or json")] = (
        Fmt.table
    ),
    endpoint: Annotated[
        bool, typer.Option("--endpoint", help="print the worker's ClickHouse HTTP interface")
    ] = False,
) -> None:
    s = settings()
    if endpoint:
        _print_endpoint(s)
        return
    if not statement or not statement.strip():
        raise KpiflowError('give a statement, e.g. kpiflow sql "SELECT count() FROM raw_events"')
    rows = run_read_only(s, statement)
    sys.stdout.write(render(rows, fmt)) if fmt != Fmt.table else _table(rows)


def run_read_only(s, statement: str) -> list[dict[str, Any]]:
    from kpiflow.projections.store import ClickHouseStore, open_store

    store = open_store(s, migrate=False)
    reader = store.clone(read_only=True) if isinstance(store, ClickHouseStore) else store
    try:
        return reader.rows(statement.strip().rstrip(";"))
    except KpiflowError:
        raise
    except Exception as exc:  # noqa: BLE001 - ClickHouse's own message, without a traceback
        raise KpiflowError(str(exc).strip().splitlines()[0]) from None
    finally:
        if reader is not store:
            reader.close()
        store.close()


def render(rows: list[dict[str, Any]], fmt: Fmt) -> str:
    if fmt == Fmt.jsonl:
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    if fmt == Fmt.json:
        return json.dumps(rows, ensure_ascii=False, indent=2) + "\n"
    out = io.StringIO()
    if rows:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(
            {k: json.dumps(v) if isinstance(v, list | dict) else v for k, v in r.items()}
            for r in rows
        )
    return out.getvalue()


def _table(rows: list[dict[str, Any]]) -> None:
    if not rows:
        console.print("(no rows)")
        return
    table = Table()
    for name in rows[0]:
        table.add_column(
            name, justify="right" if isinstance(rows[0][name], int | float) else "left"
        )
    for r in rows:
        table.add_row(*(Text("" if v is None else str(v)) for v in r.values()))
    console.print(table)
    console.print(f"{len(rows):,} row{'s' if len(rows) != 1 else ''}")


def _print_endpoint(s) -> None:
    from kpiflow.projections.store import gateway_file

    path = gateway_file(s.pipeline.data_dir)
    if not s.clickhouse_dsn.startswith("chdb:"):
        raise KpiflowError(
            "ClickHouse is a server here (KPIFLOW_CLICKHOUSE_DSN): connect to it directly, with "
            "the read-only user kpiflow_ops (projections/security/users.sql)"
        )
    if not path.exists():
        raise KpiflowError(
            f"no worker runs on {s.pipeline.data_dir.resolve()}: start `kpiflow worker`; it "
            f"serves the read-only ClickHouse HTTP interface on 127.0.0.1:"
            f"{s.pipeline.worker_sql_port} (KPIFLOW_WORKER_SQL_PORT)"
        )
    info = json.loads(path.read_text())
    port = info.get("sql_port") or 0
    if not port:
        raise KpiflowError(
            "the running worker serves no ClickHouse HTTP interface (KPIFLOW_WORKER_SQL_PORT=0, "
            "or its port was taken: see the worker's log)"
        )
    console.print(
        Text(
            f"host 127.0.0.1, port {port}, protocol http, user kpiflow, database "
            f"{s.clickhouse.database}; the password is the token in {path.resolve()} "
            "(readable by this user only; a new one at every worker start). Read-only.\n"
            "python: clickhouse_connect.get_client(host='127.0.0.1', "
            f"port={port}, username='kpiflow', password=TOKEN, database="
            f"'{s.clickhouse.database}')"
        ),
        soft_wrap=True,
    )


def register(app: typer.Typer) -> None:
    app.command(help=HELP)(sql)
