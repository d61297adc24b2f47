"""schema, publish, worker, wait, status."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from kpiflow.commands.common import console, err_console, require_kafka, settings, worker_state
from kpiflow.errors import ConfigError, KpiflowError


def schema(
    event_type: Annotated[
        str | None, typer.Argument(help="one event type, e.g. deal.opened; all when omitted")
    ] = None,
) -> None:
    """Print the JSON Schema of the v1 events (the wire contract)."""
    from pydantic import TypeAdapter

    from kpiflow.events import EVENT_TYPES
    from kpiflow.events.registry import SalesEvent

    if event_type:
        if event_type not in EVENT_TYPES:
            raise KpiflowError(
                f"unknown event type {event_type!r}; known: {', '.join(EVENT_TYPES)}"
            )
        doc = EVENT_TYPES[event_type].model_json_schema(mode="validation")
    else:
        doc = TypeAdapter(SalesEvent).json_schema(mode="validation")
    print(json.dumps(doc, indent=2, sort_keys=True))


def _lines(path: str):
    if path == "-":
        yield from sys.stdin.buffer
        return
    file = Path(path)
    if not file.exists():
        raise KpiflowError(f"no such file: {path}")
    with file.open("rb") as handle:
        yield from handle


def publish(
    file: Annotated[str, typer.Argument(help="JSON Lines file, one event per line; - for stdin")],
) -> None:
    """Validate each line and publish it to the events topic (idempotent producer, acks=all).

    Invalid lines go to the dead-letter topic with the reason, and are listed at the end with
    their line numbers. Broker: KPIFLOW_KAFKA_BOOTSTRAP_SERVERS; topics: KPIFLOW_KAFKA_EVENTS_TOPIC,
    KPIFLOW_KAFKA_DLQ_TOPIC.
    """
    from kpiflow.streams.producer import publish_lines

    s = settings()
    total = None
    if file != "-":
        path = Path(file)
        if not path.is_file():
            raise ConfigError(
                f"{file}: no such file"
                + (" (a directory)" if path.is_dir() else "")
                + "; give a JSON Lines file, or - to read standard input"
            )
        with path.open("rb") as handle:
            total = sum(1 for _ in handle)
    require_kafka(s)
    with Progress(
        TextColumn("publishing"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=False,
    ) as progress:
        task = progress.add_task("publish", total=total)
        summary = publish_lines(
            s, _lines(file), origin=file, on_line=lambda: progress.advance(task)
        )
    console.print(
        f"published [bold]{summary.published}[/], invalid [bold]{summary.invalid_count}[/]"
    )
    for number, reason in summary.invalid[:50]:
        console.print(f"  line {number}: {escape(reason)}")
    if summary.invalid_count > 50:
        console.print(
            f"  ... and {summary.invalid_count - 50} more (all are in the dead-letter topic)"
        )


def worker(
    loglevel: Annotated[str, typer.Option(help="debug, info, warning")] = "info",
) -> None:
    """Run the Faust worker: validate, dead-letter, raw log, KPI projections.

    Micro-batches: KPIFLOW_BATCH_SIZE events or KPIFLOW_BATCH_SECONDS, whichever first. With the
    embedded ClickHouse (default) the worker owns the database; other commands reach it through
    the worker's loopback port KPIFLOW_WORKER_WEB_PORT.
    """
    from kpiflow.streams.worker import run_worker

    run_worker(settings(), loglevel)


def wait(
    timeout: Annotated[float, typer.Option(help="seconds before giving up (exit 1)")] = 300.0,
    projections: Annotated[
        bool, typer.Option(help="also wait until the projections caught up with the raw log")
    ] = True,
) -> None:
    """Block until the worker's consumer lag is 0 (and, by default, the projections are current)."""
    from kpiflow.streams.lag import consumer_lag

    s = settings()
    require_kafka(s)
    deadline = time.monotonic() + timeout
    lag = None
    while time.monotonic() < deadline:
        lags = consumer_lag(s)
        lag = sum(p.lag for p in lags)
        if lag == 0 and (not projections or _projections_current(s)):
            console.print(
                "caught up: consumer lag 0" + (", projections current" if projections else "")
            )
            return
        time.sleep(0.5)
    running = _worker_state(s) is not None
    why = (
        ""
        if running
        else (
            f"; no worker is running (nothing answers on 127.0.0.1:{s.pipeline.worker_web_port}): "
            "start one with `kpiflow worker`"
        )
    )
    err_console.print(f"[red]timed out after {timeout:.0f}s[/]: consumer lag {lag}{escape(why)}")
    raise typer.Exit(1)


def _projections_current(s) -> bool:
    state = _worker_state(s)
    if state is None:
        return False
    projector = state.get("projector") or {}
    return (
        bool(projector)
        and all(v["built"] for v in projector.values())
        and _raw_events(s) <= min(v["events"] for v in projector.values())
    )


def _worker_state(s) -> dict | None:
    return worker_state(f"http://127.0.0.1:{s.pipeline.worker_web_port}")


def _raw_events(s) -> int:
    from kpiflow.projections.store import open_store

    store = open_store(s, migrate=False)
    try:
        return int(store.scalar("SELECT uniqExact(event_id) FROM {db}.raw_event_log") or 0)
    finally:
        store.close()


def status(
    as_json: Annotated[
        bool, typer.Option("--json", help="one JSON document instead of the text (for scripts)")
    ] = False,
) -> None:
    """Lag per partition, dead letters, raw-log events, definition versions, the worker."""
    from kpiflow.projections.store import open_store
    from kpiflow.projections.versions import list_versions, live_version
    from kpiflow.streams.lag import consumer_lag, topic_size

    s = settings()
    require_kafka(s)
    lags = consumer_lag(s)
    store = open_store(s)
    try:
        raw = int(store.scalar("SELECT uniqExact(event_id) FROM {db}.raw_event_log") or 0)
        in_table = int(store.scalar("SELECT count() FROM {db}.dead_letters") or 0)
        live = live_version(store)
        versions = [
            {
                "version": int(row["version"]),
                "status": row["status"],
                "live": row["version"] == live,
                "description": row["description"],
            }
            for row in list_versions(store)
        ]
    finally:
        store.close()
    state = _worker_state(s)
    doc = {
        "topic": s.kafka.events_topic,
        "consumer_group": s.kafka.consumer_group,
        "partitions": [
            {"partition": p.partition, "committed": p.committed, "end": p.end, "lag": p.lag}
            for p in lags
        ],
        "lag": sum(p.lag for p in lags),
        "dead_letter_topic": {
            "name": s.kafka.dlq_topic,
            "messages": topic_size(s, s.kafka.dlq_topic),
        },
        "dead_letter_table": in_table,
        "raw_events": raw,
        "definitions": versions,
        "worker": None
        if state is None
        else {
            "ingest": state.get("ingest"),
            "projector": state.get("projector"),
            "projector_failure": state.get("projector_failure"),
            "leader": state.get("leader"),
        },
        "data_dir": str(s.pipeline.data_dir.resolve()),
    }
    if as_json:
        sys.stdout.write(json.dumps(doc, indent=2, sort_keys=True) + "\n")
        return
    _render_status(doc)


def _render_status(doc: dict) -> None:
    table = Table(title=f"{doc['topic']} (group {doc['consumer_group']})")
    for col in ("partition", "committed", "end", "lag"):
        table.add_column(col, justify="right")
    for p in doc["partitions"]:
        table.add_row(str(p["partition"]), f"{p['committed']:,}", f"{p['end']:,}", f"{p['lag']:,}")
    console.print(table)
    say = lambda text: console.print(Text(text), soft_wrap=True)  # noqa: E731 - data, no markup
    say(f"consumer lag: {doc['lag']:,} messages not processed yet")
    dlq = doc["dead_letter_topic"]
    table_count = doc["dead_letter_table"]
    say(
        f"dead letters: {dlq['messages']:,} in the topic {dlq['name']}, {table_count:,} in the "
        "ClickHouse table dead_letters"
    )
    say(f"raw event log: {doc['raw_events']:,} events")
    for v in doc["definitions"]:
        live = ", readers see it" if v["live"] else ""
        say(f"definition version {v['version']}: {v['status']}{live} - {v['description']}")
    worker = doc["worker"]
    if worker is None:
        say("worker: not running (nothing answers on its loopback port)")
        return
    ingest = worker["ingest"] or {}
    say(
        f"worker: running{' (projection leader)' if worker.get('leader') else ''}; "
        f"{ingest.get('batches', 0):,} batches, {ingest.get('accepted', 0):,} events accepted, "
        f"{ingest.get('rejected', 0):,} dead-lettered, {ingest.get('duplicates', 0):,} "
        "duplicates dropped"
    )
    failure = worker.get("projector_failure")
    if failure:
        console.print(
            Text(
                f"projector failing: {failure['attempts']} step(s) in a row since "
                f"{failure['since']}, at raw-log position {failure['positions']}: "
                f"{failure['error']}. KPIs are behind; ingest goes on. See the worker's log; "
                "`kpiflow verify` names the rows that differ.",
                style="bold red",
            ),
            soft_wrap=True,
        )


def register(app: typer.Typer) -> None:
    app.command()(schema)
    app.command()(publish)
    app.command()(worker)
    app.command()(wait)
    app.command()(status)
