"""kpiflow coach REP: one rep's funnel beside the team's, and where they differ most."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from kpiflow.commands.common import console, day_option, settings
from kpiflow.errors import ConfigError

HELP = (
    "Coach one rep: the funnel of a period beside the team's (the rep's team at the period's "
    "end). Per open stage: the stays that ended, the share that moved forward or was lost, the "
    "median days; deal velocity, close rate, won deals and value; activities by type, points, "
    "outbound contacts; and the one or two stages where the rep differs most from the team, in "
    "words. One rep at a time, never a list or a ranking (docs/coaching.md). Default period: "
    "the current quarter in KPIFLOW_TIMEZONE."
)


def coach(
    rep: Annotated[str, typer.Argument(help="the rep's id, exactly as in the events' rep_id")],
    quarter: Annotated[
        str | None, typer.Option("--quarter", "-q", help="a quarter, e.g. 2026-Q3")
    ] = None,
    start: Annotated[str | None, typer.Option("--from", help="first day (YYYY-MM-DD)")] = None,
    end: Annotated[str | None, typer.Option("--to", help="last day (YYYY-MM-DD)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON document")] = False,
) -> None:
    from datetime import datetime

    from kpiflow.projections.coaching.funnel import differences
    from kpiflow.projections.coaching.queries import Period, side, team_of
    from kpiflow.projections.coaching.queries import quarter as quarter_of
    from kpiflow.projections.store import open_store

    s = settings()
    tz = s.pipeline.tz
    if quarter and (start or end):
        raise ConfigError("give --quarter, or --from and --to, not both")
    if quarter:
        period = quarter_of(quarter)
    elif start or end:
        first, last = day_option(start, "--from"), day_option(end, "--to")
        if first is None or last is None:
            raise ConfigError("give both --from and --to (or --quarter)")
        if last < first:
            raise ConfigError(f"--to {last} is before --from {first}")
        period = Period(first, last)
    else:
        today = datetime.now(tz).date()
        period = quarter_of(f"{today.year}-Q{(today.month - 1) // 3 + 1}")
    store = open_store(s)
    try:
        team = team_of(store, rep, period, tz)
        mine = side(store, "rep", rep, period, tz)
        theirs = side(store, "team", team, period, tz)
    finally:
        store.close()
    found = differences(mine, theirs)
    if as_json:
        doc = {
            "rep": rep,
            "team": team,
            "from": period.start.isoformat(),
            "to": period.end.isoformat(),
            "rep_funnel": mine.as_dict(),
            "team_funnel": theirs.as_dict(),
            "differences": [{"stage": d.stage, "kind": d.kind, "text": d.text} for d in found],
        }
        sys.stdout.write(json.dumps(doc, indent=2, sort_keys=True) + "\n")
        return
    _render(rep, team, period, mine, theirs, found, s.pipeline.currency)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _days(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _render(rep, team, period, mine, theirs, found, currency: str) -> None:
    say = lambda text, style="": console.print(Text(text, style=style), soft_wrap=True)  # noqa: E731
    say(f"coaching {rep} (team {team}), {period.start} .. {period.end}", "bold")
    funnel = Table(title="stays that ended in the period, by stage", title_justify="left")
    for col in ("stage", "ended", "forward", "lost", "back", "median days"):
        funnel.add_column(col, justify="left" if col == "stage" else "right")
    for a, b in zip(mine.stages, theirs.stages, strict=True):
        funnel.add_row(
            a.stage,
            f"{a.ended} | {b.ended}",
            f"{_pct(a.forward_share)} | {_pct(b.forward_share)}",
            f"{_pct(a.lost_share)} | {_pct(b.lost_share)}",
            f"{a.back} | {b.back}",
            f"{_days(a.median_days)} | {_days(b.median_days)}",
        )
    console.print(funnel)
    say("each cell: the rep | the team")
    per_rep = max(theirs.reps, 1)
    say(
        f"close rate {_pct(mine.close_rate)} | {_pct(theirs.close_rate)}; deal velocity "
        f"{_days(mine.velocity_days)} | {_days(theirs.velocity_days)} median days"
    )
    say(
        f"won {mine.won_deals} deals, {mine.won_value:,.2f} {currency} | the team "
        f"{theirs.won_deals} deals, {theirs.won_value:,.2f} {currency} "
        f"({theirs.won_value / per_rep:,.2f} per rep, {theirs.reps} reps)"
    )
    types = sorted(set(mine.activities) | set(theirs.activities))
    mix = ", ".join(
        f"{t} {mine.activities.get(t, 0)} | {theirs.activities.get(t, 0) / per_rep:.1f}"
        for t in types
    )
    say(f"activities (the rep | the team per rep): {mix or 'none'}")
    say(
        f"activity points {mine.activity_points:,.0f} | {theirs.activity_points / per_rep:,.1f} "
        f"per rep; outbound contacts {mine.outbound_contacts} | "
        f"{theirs.outbound_contacts / per_rep:.1f} per rep"
    )
    if found:
        say("where to look first:", "bold")
        for d in found:
            say(f"  - {d.text}")
    else:
        say("no stage differs much from the team's (docs/coaching.md says what counts)")


def register(app: typer.Typer) -> None:
    app.command(help=HELP)(coach)
