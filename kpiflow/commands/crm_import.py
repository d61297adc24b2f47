"""import deals|activities|leads: CRM and dialer exports (CSV) to events, history on day one."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from kpiflow.commands.common import console, err_console, require_kafka
from kpiflow.settings import get_settings

import_app = typer.Typer(
    name="import",
    help=(
        "Import a CRM's or dialer's CSV export as events (history on day one). A mapping file "
        "says which column is which (docs/import.md). Every event gets an id derived from the "
        "source, the record and the fact, so importing an export again, or a later export of "
        "the same CRM, adds only the facts that are new. Bad rows are listed with line, column "
        "and reason and never stop the good ones; exit 1 when a row was skipped."
    ),
    no_args_is_help=True,
)

FileArg = Annotated[Path, typer.Argument(help="the CSV export", show_default=False)]
MappingOpt = Annotated[
    Path, typer.Option("--mapping", "-m", help="the mapping file (YAML)", show_default=False)
]
DryRunOpt = Annotated[
    bool,
    typer.Option(
        "--dry-run", help="check every row and print the summary; publish nothing (no Kafka)"
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="the summary as one JSON document")]

SHOWN_PROBLEMS = 50


def _run(kind: str, file: Path, mapping: Path, dry_run: bool, as_json: bool) -> None:
    from kpiflow.streams.crm_import.run import count_lines, import_export

    s = get_settings()  # an import uses Kafka only, never the data directory
    if not dry_run:
        require_kafka(s)
    total = count_lines(file) if file.is_file() else None
    with Progress(
        TextColumn(f"{'checking' if dry_run else 'importing'} {kind}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("lines"),
        TimeElapsedColumn(),
        console=err_console,
        disable=as_json or total is None,
    ) as progress:
        task = progress.add_task(kind, total=total)
        summary = import_export(
            s, kind, file, mapping, dry_run=dry_run, on_line=lambda n: progress.advance(task, n)
        )
        progress.update(task, completed=total)
    if as_json:
        sys.stdout.write(json.dumps(summary.as_dict(), indent=2, sort_keys=True) + "\n")
    else:
        _render(summary)
    if summary.problems:
        raise typer.Exit(1)


def _render(summary) -> None:
    say = lambda text, style="": console.print(Text(text, style=style), soft_wrap=True)  # noqa: E731
    doc = summary.as_dict()
    skipped = doc["rows_with_problems"]
    say(
        f"{doc['file']}: {doc['rows']:,} rows, {doc['imported_rows']:,} imported, "
        f"{skipped:,} skipped",
        "bold",
    )
    events = ", ".join(f"{name} {count:,}" for name, count in doc["events"].items()) or "none"
    verb = "would publish" if summary.dry_run else "published"
    say(f"events ({verb}): {events}")
    if summary.first:
        say(f"dates: {doc['first']} .. {doc['last']}")
    say(f"owners: {len(doc['owners'])} ({_some(doc['owners'])})")
    say(f"teams: {len(doc['teams'])} ({_some(doc['teams'])})")
    if not summary.dry_run:
        say(
            f"published {summary.published:,} events; facts imported before keep their ids "
            "and are not counted again"
        )
    for problem in summary.problems[:SHOWN_PROBLEMS]:
        say(f"  line {problem.line}: {problem.column}: {problem.reason}", "yellow")
    if skipped > SHOWN_PROBLEMS:
        say(f"  ... and {skipped - SHOWN_PROBLEMS:,} more (--json lists them all)", "yellow")


def _some(names: list[str], shown: int = 8) -> str:
    head = ", ".join(names[:shown])
    return head + (f", ... {len(names) - shown:,} more" if len(names) > shown else "")


@import_app.command(
    help="A deal (opportunity) export: deal.opened at the created date, the won or lost stage "
    "change at the close date, the close value before a win."
)
def deals(file: FileArg, mapping: MappingOpt, dry_run: DryRunOpt = False, as_json: JsonOpt = False):
    _run("deals", file, mapping, dry_run, as_json)


@import_app.command()
def activities(
    file: FileArg, mapping: MappingOpt, dry_run: DryRunOpt = False, as_json: JsonOpt = False
):
    """An activity export (calls, e-mails, meetings ...): one activity.logged per row."""
    _run("activities", file, mapping, dry_run, as_json)


@import_app.command(
    help="A lead export: lead.created at the created date, and the qualification checklist "
    "from its yes/no columns."
)
def leads(file: FileArg, mapping: MappingOpt, dry_run: DryRunOpt = False, as_json: JsonOpt = False):
    _run("leads", file, mapping, dry_run, as_json)


def register(app: typer.Typer) -> None:
    app.add_typer(import_app, name="import")
