"""The one console command, `kpiflow`. Each subcommand family lives in `kpiflow/commands/`."""

from __future__ import annotations

import importlib
import sys

import typer

from kpiflow.errors import KpiflowError

app = typer.Typer(
    name="kpiflow",
    help=(
        "Event-sourced streaming KPIs for sales teams (the KPI Flow method).\n\n"
        "Events go to Kafka, a Faust worker validates them and keeps KPI projections in "
        "ClickHouse, Grafana shows them. Settings come from KPIFLOW_* environment variables "
        "or a .env file; see `kpiflow config`."
    ),
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            print(f"kpiflow {version('kpiflow')}")
        except PackageNotFoundError:
            print("kpiflow (not installed as a package)")
        raise typer.Exit()


@app.callback()
def _main(
    show_version: bool = typer.Option(
        False,
        "--version",
        help="Print kpiflow's version and exit.",
        callback=_version,
        is_eager=True,
    ),
) -> None:
    """Event-sourced streaming KPIs for sales teams (the KPI Flow method)."""


# Each module defines `register(app: typer.Typer) -> None`.
COMMAND_MODULES = (
    "kpiflow.commands.runtime",  # up, down, config
    "kpiflow.commands.ingest",  # schema, publish, worker, wait, status
    "kpiflow.commands.crm_import",  # import deals|activities|leads
    "kpiflow.commands.simulate",  # simulate
    "kpiflow.commands.report",  # report
    "kpiflow.commands.plan",  # plan check|suggest|apply, flow
    "kpiflow.commands.coach",  # coach
    "kpiflow.commands.replay",  # definitions, replay, promote
    "kpiflow.commands.dashboards",  # dashboards build|push|check
    "kpiflow.commands.verify",  # verify
    "kpiflow.commands.sql",  # sql
    "kpiflow.commands.demo",  # demo
)


def _register_all() -> None:
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue  # family not built yet
            raise
        module.register(app)


_register_all()


def main() -> None:
    try:
        app()
    except KpiflowError as exc:
        from rich.console import Console
        from rich.markup import escape

        Console(stderr=True).print(f"[bold red]error:[/] {escape(str(exc))}")
        sys.exit(2)


if __name__ == "__main__":
    main()
