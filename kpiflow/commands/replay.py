"""definitions, replay, promote: versioned KPI definitions and mid-quarter replays."""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from kpiflow.commands.common import console, err_console, settings, worker_state
from kpiflow.errors import ConfigError, KpiflowError

definitions_app = typer.Typer(
    help="List, show and drop KPI definition versions.", no_args_is_help=False
)


def _quarter_start(text: str | None) -> date:
    from kpiflow.projections.plans.calendar import Quarter

    if text is None:
        return Quarter.of(datetime.now(UTC).date()).start
    try:
        return Quarter.parse(text).start
    except ValueError as exc:
        raise ConfigError(f"--quarter: {exc}") from None


@definitions_app.callback(invoke_without_command=True)
def definitions(
    ctx: typer.Context,
    as_json: Annotated[
        bool, typer.Option("--json", help="one JSON document instead of the table (for scripts)")
    ] = False,
) -> None:
    """List the definition versions: status (building, ready, live, retired) and meaning."""
    if ctx.invoked_subcommand:
        return
    from kpiflow.projections.store import open_store
    from kpiflow.projections.versions import list_versions, live_version

    store = open_store(settings())
    if as_json:
        live = live_version(store)
        doc = [
            {
                "version": int(r["version"]),
                "status": r["status"],
                "live": r["version"] == live,
                "effective_from": str(r["effective_from"]) if r["effective_from"] else None,
                "description": r["description"],
                "fingerprint": r["fingerprint"],
                "definition": json.loads(r["body"]),
            }
            for r in list_versions(store)
        ]
        sys.stdout.write(json.dumps(doc, indent=2, sort_keys=True) + "\n")
        return
    table = Table(title="KPI definition versions")
    for col in ("version", "status", "effective from", "description", "fingerprint"):
        table.add_column(col)
    live = live_version(store)
    for r in list_versions(store):
        status = r["status"] + (" *" if r["version"] == live else "")
        table.add_row(
            str(r["version"]),
            status,
            str(r["effective_from"] or ""),
            escape(r["description"]),
            r["fingerprint"],
        )
    console.print(table)
    console.print("* = what readers (views, report, dashboards) see")


@definitions_app.command("show")
def show(version: int) -> None:
    """Print one version's definition (points, qualification rule, core products) as JSON."""
    from kpiflow.projections.store import open_store
    from kpiflow.projections.versions import list_versions

    for r in list_versions(open_store(settings())):
        if r["version"] == version:
            print(json.dumps(json.loads(r["body"]), indent=2, sort_keys=True))
            return
    raise ConfigError(f"no definition version {version}")


@definitions_app.command("check")
def check(
    file: Annotated[Path, typer.Argument(help="the definition file (YAML) to check")],
    as_json: Annotated[
        bool, typer.Option("--json", help="one JSON document instead of the text (for scripts)")
    ] = False,
) -> None:
    """Check a definition file without registering it: every problem with file, line and field.

    An unknown key or base, a field the base's family does not offer, a kind that contradicts the
    base, a name that clashes with the catalog, a missing description ... Exit code 1 when there
    is any. Needs no database.
    """
    from kpiflow.projections.definition_file import DefinitionFileError, load_definition_file

    try:
        definition = load_definition_file(file)
    except DefinitionFileError as exc:
        if as_json:
            problems = [{"line": ln, "field": f, "message": m} for ln, f, m in exc.problems]
            doc = {"file": str(file), "ok": False, "problems": problems}
            sys.stdout.write(json.dumps(doc, indent=2, sort_keys=True) + "\n")
            raise typer.Exit(1) from None
        err_console.print(Text(str(exc), style="red"), soft_wrap=True)
        raise typer.Exit(1) from None
    if as_json:
        body = json.loads(definition.model_dump_json())
        doc = {"file": str(file), "ok": True, "problems": [], "definition": body}
        sys.stdout.write(json.dumps(doc, indent=2, sort_keys=True) + "\n")
        return
    console.print(Text(f"{file}: OK", style="bold green"))
    console.print(Text(f"description: {definition.description}"), soft_wrap=True)
    for name, custom in definition.kpis.items():
        where = (
            ", ".join(f"{field} {c.op} {list(c.values)}" for field, c in custom.where.items())
            or "(no filter: the base under a new name)"
        )
        console.print(
            Text(f"  {name} ({custom.effective_kind}, base {custom.base}): {where}"),
            soft_wrap=True,
        )


@definitions_app.command("drop")
def drop(version: int) -> None:
    """Retire a version that is not live and delete its projection rows."""
    from kpiflow.projections import operations
    from kpiflow.projections.store import open_store

    operations.run(open_store(settings()), "retire", version=version)
    console.print(f"version {version} retired and its rows deleted")


def _wait_built(store, version: int, timeout: float) -> None:
    """Follow the worker's rebuild of `version` with a progress bar."""
    from kpiflow.projections.store import GatewayStore

    deadline = time.monotonic() + timeout
    with Progress(
        TextColumn(f"replaying into v{version}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
    ) as progress:
        task = progress.add_task("replay", total=None)
        while time.monotonic() < deadline:
            state = worker_state(store.url) if isinstance(store, GatewayStore) else None
            info = (state or {}).get("projector", {}).get(str(version))
            if info:
                progress.update(task, completed=info["done"], total=info["total"] or None)
                if info["built"]:
                    return
            time.sleep(0.5)
    raise KpiflowError(
        f"the worker did not finish rebuilding version {version} in {timeout:.0f}s; `kpiflow "
        "definitions` shows its status"
    )


def replay(
    definition_file: Annotated[
        Path,
        typer.Argument(
            help="YAML: description, effective_from, points, qualification, core_products"
        ),
    ],
    quarter: Annotated[
        str | None,
        typer.Option(help="quarter of the diff report, e.g. 2026-Q4 (default: the current one)"),
    ] = None,
    timeout: Annotated[float, typer.Option(help="seconds to wait for the rebuild")] = 1800.0,
) -> None:
    """Rebuild the KPIs under a changed definition into a new projection version, then diff.

    The running worker rebuilds it from the raw event log while live ingestion goes on (without
    a worker, this command rebuilds it itself). Readers keep seeing the live version until
    `kpiflow promote N`.
    """
    from kpiflow.events.rates import table_for
    from kpiflow.projections import operations, versions
    from kpiflow.projections.definitions import Definition
    from kpiflow.projections.replay import (
        added_kpis,
        build_offline,
        diff_values,
        load_definition_file,
        quarter_values,
    )
    from kpiflow.projections.store import GatewayStore, open_store

    s = settings()
    store = open_store(s)
    # the version converts amounts with the exchange rates configured now (docs/events.md)
    wanted = load_definition_file(definition_file).model_copy(
        update={"exchange_rates": table_for(s.pipeline).as_json()}
    )
    live = versions.live_version(store)
    rows = {r["version"]: r for r in versions.list_versions(store)}
    if live is None or live not in rows:
        raise KpiflowError(
            "no live definition version yet: start the worker once (`kpiflow worker`) so version "
            "1 is built"
        )
    old = versions.load_definition(rows[live])
    registered = operations.run(store, "register_definition", definition=wanted.model_dump_json())
    new = Definition.model_validate_json(registered["definition"])
    console.print(
        f"registered definition version [bold]{new.version}[/] ({new.description}); rebuilding "
        "from the raw event log"
    )
    if isinstance(store, GatewayStore):
        _wait_built(store, new.version, timeout)
    else:
        with Progress(
            TextColumn(f"replaying into v{new.version}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err_console,
        ) as progress:
            task = progress.add_task("replay", total=None)
            build_offline(
                store,
                new,
                s.pipeline.tz,
                lambda done, total: progress.update(task, completed=done, total=total or None),
            )
    added = added_kpis(old, new)
    both = tuple(name for name in old.kpi_names() if name in set(new.kpi_names()))
    q = _quarter_start(quarter)
    report = diff_values(
        quarter_values(store, old.version, both, q), quarter_values(store, new.version, both, q)
    )
    changed = [d for d in report if abs(d.change) > 1e-9]
    moved = {d.kpi for d in changed}
    table = Table(title=f"quarter {q}: v{old.version} (live) -> v{new.version}, rows that differ")
    for col in ("kpi", "dimension", "old", "new", "change"):
        table.add_column(col, justify="right" if col in ("old", "new", "change") else "left")
    for d in changed[:SHOWN_ROWS]:
        label = "all" if d.dimension_kind == "all" else f"{d.dimension_kind} {d.dimension}"
        table.add_row(
            escape(d.kpi), escape(label), f"{d.old:,.2f}", f"{d.new:,.2f}", f"{d.change:+,.2f}"
        )
    if changed:
        console.print(table)
        if len(changed) > SHOWN_ROWS:
            console.print(
                f"... and {len(changed) - SHOWN_ROWS} more rows; compare with `kpiflow report KPI "
                f"--version {old.version}` and `--version {new.version}`"
            )
    same = [name for name in both if name not in moved]
    console.print(
        Text(
            f"{len(moved)} of the {len(both)} KPIs of both versions differ this quarter"
            + (f" ({', '.join(sorted(moved))})" if moved else "")
            + f"; unchanged: {len(same)}",
        ),
        soft_wrap=True,
    )
    if added:
        totals = quarter_values(store, new.version, added, q)
        new_table = Table(title=f"quarter {q}: new KPIs in v{new.version}")
        for col in ("kpi", "dimension", "value"):
            new_table.add_column(col, justify="right" if col == "value" else "left")
        for name in added:
            rows = sorted((k, v) for k, v in totals.items() if k[0] == name)
            if not rows:
                new_table.add_row(escape(name), "all", "no rows this quarter")
            for (_, kind, dimension), value in rows:
                label = "all" if kind == "all" else f"{kind} {dimension}"
                new_table.add_row(escape(name), escape(label), f"{value:,.2f}")
        console.print(new_table)
    console.print(f"promote with: [bold]kpiflow promote {new.version}[/]")


SHOWN_ROWS = 60  # rows of the replay's diff on screen


def promote(
    version: Annotated[int, typer.Argument(help="the definition version readers should see")],
    note: Annotated[str, typer.Option(help="why (shown as a dashboard annotation)")] = "",
) -> None:
    """Switch readers (views, report, dashboards) to a built version, atomically.

    The previous version stays queryable (`kpiflow report --version N`) until dropped.
    """
    from kpiflow.projections import operations
    from kpiflow.projections.store import open_store

    done = operations.run(open_store(settings()), "promote", version=version, note=note)
    previous = done["previous"]
    console.print(f"live version: {previous} -> [bold]{version}[/]")


def register(app: typer.Typer) -> None:
    app.add_typer(definitions_app, name="definitions")
    app.command()(replay)
    app.command()(promote)
