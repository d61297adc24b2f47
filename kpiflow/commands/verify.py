"""kpiflow verify."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from kpiflow.commands.common import console, err_console, require_kafka, settings
from kpiflow.errors import KpiflowError

EXIT_CODES = (
    "Exit codes: 0 = everything matches, 1 = a difference was found, 2 = verify could not run."
)


def verify(
    as_json: Annotated[
        bool, typer.Option("--json", help="print one JSON document on stdout instead of tables")
    ] = False,
    kafka: Annotated[
        bool,
        typer.Option(
            "--kafka/--no-kafka", help="check the raw log and dead letters against the events topic"
        ),
    ] = True,
    kpis: Annotated[
        bool,
        typer.Option(
            "--kpis/--no-kpis",
            help="check the projections against a recomputation from the raw log",
        ),
    ] = True,
    limit: Annotated[
        int,
        typer.Option(
            min=0,
            envvar="KPIFLOW_VERIFY_LIMIT",
            show_envvar=True,
            help="examples shown per kind of finding (counts are never capped)",
        ),
    ] = 20,
    tolerance: Annotated[
        float,
        typer.Option(
            min=0.0,
            envvar="KPIFLOW_VERIFY_TOLERANCE",
            show_envvar=True,
            help="relative and absolute tolerance of KPI values",
        ),
    ] = 1e-9,
    settle: Annotated[
        float,
        typer.Option(
            min=0.0,
            envvar="KPIFLOW_VERIFY_SETTLE",
            show_envvar=True,
            help="seconds to wait for a still snapshot while the worker writes",
        ),
    ] = 60.0,
    version: Annotated[
        int | None, typer.Option(help="only this definition version (default: every built one)")
    ] = None,
) -> None:
    """Check that nothing was lost and nothing counted twice; made to run on a schedule.

    Replays the events topic through the worker's own rules and compares the raw log (every
    accepted event exactly once) and the dead-letter topic (every reject, with its reason); then
    recomputes every KPI of every built definition version from the raw log with the same engine
    and compares the projections. Works while the worker runs and when it does not.
    Exit codes: 0 = everything matches, 1 = a difference was found, 2 = verify could not run.
    """
    from kpiflow.projections.store import open_store
    from kpiflow.projections.verify import EXIT_ERROR
    from kpiflow.streams.verify import verify as run_verify
    from kpiflow.streams.verify.topics import ConfluentSource

    source = store = None
    try:
        if not (kafka or kpis):
            raise ValueError("--no-kafka and --no-kpis together leave nothing to check")
        s = settings()
        if kafka:
            require_kafka(s)
        store = open_store(s, migrate=False)
        source = ConfluentSource(s) if kafka else None
        report = run_verify(
            s,
            store,
            source,
            limit=limit,
            tolerance=tolerance,
            settle=settle,
            version=version,
            kpis=kpis,
        )
    except Exception as exc:  # noqa: BLE001 - any failure to check is exit 2, never "ok"
        message = (
            str(exc)
            if isinstance(exc, KpiflowError | ValueError)
            else f"{type(exc).__name__}: {exc}"
        )
        if as_json:
            print(
                json.dumps(
                    {"status": "error", "exit_code": EXIT_ERROR, "error": message}, sort_keys=True
                )
            )
        err_console.print(f"[bold red]verify could not run:[/] {escape(message)}")
        raise typer.Exit(EXIT_ERROR) from None
    finally:
        if source is not None:
            source.close()
        if store is not None:
            store.close()
    if as_json:
        sys.stdout.write(json.dumps(report.as_dict(), indent=2, sort_keys=True) + "\n")
    else:
        render(report)
    raise typer.Exit(report.exit_code)


def render(report) -> None:
    summary = Table(title="kpiflow verify")
    for col in ("check", "kind", "severity", "count", "meaning"):
        summary.add_column(col, justify="right" if col == "count" else "left")
    doc = report.as_dict()
    for kind in doc["findings"]:
        style = "red" if kind["severity"] == "difference" else "dim"
        summary.add_row(
            kind["check"],
            kind["kind"],
            f"[{style}]{kind['severity']}[/]",
            str(kind["count"]),
            kind["meaning"],
        )
    if doc["findings"]:
        console.print(summary)
    for kind in doc["findings"]:
        if kind["severity"] != "difference" or not kind["samples"]:
            continue
        shown = len(kind["samples"])
        more = f" (first {shown} of {kind['count']})" if kind["truncated"] else ""
        table = Table(title=f"{kind['check']}: {kind['kind']}{more}")
        for col in ("subject", "expected", "actual"):
            table.add_column(col, overflow="fold")
        for sample in kind["samples"]:
            table.add_row(*(escape(str(sample[c])) for c in ("subject", "expected", "actual")))
        console.print(table)
    stats = ", ".join(f"{k} {v}" for k, v in sorted(doc["stats"].items()))
    console.print(f"[dim]checked: {', '.join(doc['checks']) or 'nothing'}; {stats}[/]")
    for note in doc["notes"]:
        console.print(f"[dim]{escape(note)}[/]")
    if report.differences:
        console.print(
            f"[bold red]{report.differences} difference(s)[/] (exit 1); see docs/operations.md"
        )
    else:
        console.print("[green]ok[/]: nothing lost, nothing counted twice")


def register(app: typer.Typer) -> None:
    app.command(epilog=EXIT_CODES)(verify)
