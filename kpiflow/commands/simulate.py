"""kpiflow simulate."""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from kpiflow.commands.common import console, err_console, require_kafka, settings


def simulate(
    teams: Annotated[int, typer.Option(help="number of teams")] = 3,
    reps_per_team: Annotated[int, typer.Option(help="reps in each team")] = 4,
    seed: Annotated[int, typer.Option(help="same seed, same events")] = 42,
    start: Annotated[
        str | None,
        typer.Option(help="first day of history (default: the previous quarter's first day)"),
    ] = None,
    days: Annotated[
        int | None, typer.Option(help="days of history (default: to the end of that quarter)")
    ] = None,
    timezone: Annotated[
        str, typer.Option(help="the org's local zone (working hours)")
    ] = "Europe/Amsterdam",
    target_events: Annotated[
        int | None, typer.Option(help="tune the activity rate to about this many events")
    ] = None,
    history: Annotated[bool, typer.Option(help="publish the history")] = True,
    live: Annotated[
        bool, typer.Option(help="then keep publishing a live trickle until Ctrl-C")
    ] = False,
    rate: Annotated[float, typer.Option(help="live events per second")] = 5.0,
    output: Annotated[
        Path | None, typer.Option(help="write JSON Lines here instead of publishing")
    ] = None,
) -> None:
    """Simulate a sales org (teams, reps, a quarter of history, then an optional live trickle).

    Activities of every type, leads with qualification checklists, deals through the stages with
    amount changes, wins, losses, upsells, renewals and churn; seeded and deterministic; published
    through the same validating producer as `kpiflow publish`.
    """
    from kpiflow.events.envelope import aggregate_key
    from kpiflow.streams.producer import EventPublisher
    from kpiflow.streams.simulator import (
        OrgConfig,
        estimate_events,
        simulate_history,
        simulate_live,
    )

    s = settings()
    fields = {
        "teams": teams,
        "reps_per_team": reps_per_team,
        "seed": seed,
        "currency": s.pipeline.currency,
        "timezone": timezone,
    }
    quarter = OrgConfig.quarter_before(datetime.now(UTC).date(), **fields)
    fields["start"] = date.fromisoformat(start) if start else quarter.start
    fields["days"] = days or (quarter.days if not start else 91)
    cfg = (
        OrgConfig.for_target_events(target_events, **fields)
        if target_events
        else OrgConfig(**fields)
    )
    if output is None and (history or live):
        require_kafka(s)
    if history:
        total = estimate_events(cfg)
        sink = output.open("w") if output else None
        publisher = None if output else EventPublisher(s)
        n = 0
        with Progress(
            TextColumn("simulating"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err_console,
        ) as progress:
            task = progress.add_task("events", total=total)
            for event in simulate_history(cfg):
                if sink:
                    sink.write(json.dumps(event, separators=(",", ":")) + "\n")
                else:
                    publisher.send_valid(event, aggregate_key(event))
                n += 1
                if n % 1000 == 0:
                    progress.update(task, completed=n)
            progress.update(task, completed=n, total=n)
        if sink:
            sink.close()
        else:
            publisher.flush()
        console.print(
            f"{'wrote' if output else 'published'} [bold]{n}[/] events ({cfg.teams} teams, "
            f"{cfg.teams * cfg.reps_per_team} reps, {cfg.days} days from {cfg.start})"
        )
    if live:
        publisher = EventPublisher(s)
        began = time.monotonic()
        console.print(f"live: about {rate} events/s, Ctrl-C to stop")
        sent = 0
        try:
            for at, event in simulate_live(cfg, datetime.now(UTC), rate):
                delay = at - (time.monotonic() - began)
                if delay > 0:
                    publisher.flush()
                    time.sleep(delay)
                publisher.send_valid(event, aggregate_key(event))
                sent += 1
        except KeyboardInterrupt:
            pass
        publisher.flush()
        console.print(f"live: published {sent} events")


def register(app: typer.Typer) -> None:
    app.command()(simulate)
