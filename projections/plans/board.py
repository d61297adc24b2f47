"""The KPI Flow board as rich renderables: pure, from a plan and its pacing rows.

The Master KPI comes first and big (a headline and a bar with the expected mark), then the other
focus KPIs; each shows its teams, and for action and result KPIs each team's reps under it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from rich import box
from rich.console import Group, RenderableType
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from kpiflow.projections.catalog import spec_of
from kpiflow.projections.plans.calendar import Quarter, review_dates
from kpiflow.projections.plans.model import EffectivePlan
from kpiflow.projections.plans.pacing import PacingRow, status

STYLES = {
    "on track": "bold green",
    "at risk": "bold yellow",
    "behind": "bold red",
    "no data": "dim",
    "not started": "cyan",
}


@dataclass(frozen=True)
class Celebration:
    """A Master KPI target reached this quarter (the achievements view)."""

    kpi: str
    dimension_kind: str
    dimension: str
    value: float
    target: float
    reward: str
    reached_on: date
    holds_in_live: int | None  # 1 holds, 0 no longer under the live definitions, None unchecked

    @property
    def who(self) -> str:
        return (
            "the organisation"
            if self.dimension_kind == "all"
            else (f"{self.dimension_kind} {self.dimension}")
        )


@dataclass(frozen=True)
class Board:
    plan: EffectivePlan
    rows: Sequence[PacingRow]
    as_of: date
    source: str  # "stored plan revision 3" or the file name
    currency: str = "EUR"
    team: str | None = None  # show one team (and its reps) only
    notes: Sequence[str] = field(default_factory=tuple)
    celebrations: Sequence[Celebration] = field(default_factory=tuple)


def fmt_value(kpi: str, value: float | None, currency: str | None = None) -> str:
    """A KPI value for the terminal; amounts get the currency when it is given."""
    if value is None:
        return "-"
    value_type = spec_of(kpi).value_type
    if value_type == "count":
        return (
            f"{value:,.0f}"
            if abs(value - round(value)) < 1e-9 or abs(value) >= 100
            else f"{value:,.1f}"
        )
    if value_type == "amount":
        return f"{value:,.0f} {currency}" if currency else f"{value:,.0f}"
    if value_type == "ratio":
        return f"{value * 100:.1f}%"
    return f"{value:.1f} d"


def fmt_pace(pace: float | None) -> str:
    return "-" if pace is None else f"{pace * 100:.0f}%"


def _status_text(row: PacingRow) -> Text:
    label = status(row.pace)
    return Text(label, style=STYLES[label])


def _bar(row: PacingRow, width: int = 50) -> Text:
    """Progress to the target, with `|` where the expected value is today."""
    if row.actual_to_date is None or row.target <= 0:
        return Text("")
    scale = max(row.target, row.actual_to_date, row.expected_to_date)
    filled = round(width * min(row.actual_to_date, scale) / scale)
    mark = min(width - 1, round(width * row.expected_to_date / scale))
    cells = ["█" if i < filled else "░" for i in range(width)]
    cells[mark] = "|"
    style = STYLES[status(row.pace)]
    return Text("".join(cells), style=style.replace("bold ", ""))


def _headline(board: Board, kpi: str) -> PacingRow | None:
    rows = [r for r in board.rows if r.kpi == kpi]
    if board.team:
        return next(
            (r for r in rows if r.dimension_kind == "team" and r.dimension == board.team), None
        )
    return next((r for r in rows if r.dimension_kind == "all"), None)


def _visible(board: Board, kpi: str) -> list[PacingRow]:
    rows = [r for r in board.rows if r.kpi == kpi and r.dimension_kind != "all"]
    if board.team:
        rows = [r for r in rows if r.team == board.team]
    return rows


def _table(board: Board, kpi: str) -> Table | Text:
    rows = _visible(board, kpi)
    if not rows:
        return Text("no team or rep rows (no targets for them, or no data yet)", style="dim")
    table = Table(box=box.SIMPLE_HEAD, expand=False, pad_edge=False, show_edge=False)
    table.add_column("team / rep")
    for col in ("target", "actual", "expected", "pace", "projected"):
        table.add_column(col, justify="right")
    table.add_column("status")
    teams = sorted({r.team for r in rows})
    for team in teams:
        team_row = next(
            (r for r in rows if r.dimension_kind == "team" and r.dimension == team), None
        )
        reps = [r for r in rows if r.dimension_kind == "rep" and r.team == team]
        if team_row:
            _add(table, team_row, Text(team or "(no team)", style="bold"))
        elif reps:
            table.add_row(Text(team or "(no team)", style="bold"), *[""] * 6)
        for rep in reps:
            _add(table, rep, Text("  " + rep.dimension))
    return table


def _add(table: Table, row: PacingRow, label: Text) -> None:
    table.add_row(
        label,
        fmt_value(row.kpi, row.target),
        fmt_value(row.kpi, row.actual_to_date),
        fmt_value(row.kpi, row.expected_to_date),
        fmt_pace(row.pace_ratio),
        fmt_value(row.kpi, row.projected_end),
        _status_text(row),
    )


def _summary(board: Board, row: PacingRow | None, kpi: str, big: bool) -> RenderableType:
    if row is None:
        on = sum(r.on_track for r in _visible(board, kpi) if r.dimension_kind == "team")
        teams = sum(1 for r in _visible(board, kpi) if r.dimension_kind == "team")
        return Text(f"{on} of {teams} teams on track", style="bold" if big else "")
    cur = board.currency
    line = Text()
    line.append(fmt_value(kpi, row.actual_to_date, cur), style="bold white" if big else "bold")
    line.append(f"  of {fmt_value(kpi, row.target, cur)}")
    line.append(f"   expected {fmt_value(kpi, row.expected_to_date, cur)}")
    line.append(f"   pace {fmt_pace(row.pace_ratio)}")
    line.append(f"   projected {fmt_value(kpi, row.projected_end, cur)}   ")
    line.append_text(_status_text(row))
    parts: list[RenderableType] = [line]
    if big:
        parts.append(_bar(row))
    return Group(*parts)


def render_board(board: Board) -> RenderableType:
    plan = board.plan
    quarter = Quarter.parse(plan.quarter)
    total = len(plan.working_days)
    elapsed = (
        board.rows[0].working_days_elapsed
        if board.rows
        else sum(d < board.as_of for d in plan.working_days)
    )
    upcoming = [
        d for d in review_dates(quarter, plan.review.rhythm, plan.review.day) if d >= board.as_of
    ]
    head = Text()
    head.append(f"{elapsed} of {total} working days done ({elapsed / total:.0%})")
    head.append(f" · {board.source}")
    if plan.changes:
        head.append(f" · in effect since {plan.valid_from} ({plan.changes[-1].reason})")
    head.append(f"\nreview {plan.review.rhythm} on {plan.review.day}")
    head.append(f", next {upcoming[0]:%a %Y-%m-%d}" if upcoming else ", no more this quarter")
    head.append(f"\nreward: {plan.reward}")
    for note in board.notes:
        head.append(f"\n{note}", style="yellow")
    for c in board.celebrations:
        head.append(
            f"\nMaster KPI reached by {c.who} on {c.reached_on}: {c.kpi} "
            f"{fmt_value(c.kpi, c.value, board.currency)} of "
            f"{fmt_value(c.kpi, c.target, board.currency)}"
            + (f" - reward: {c.reward}" if c.reward else ""),
            style="bold green",
        )
        if c.holds_in_live == 0:
            head.append(" (no longer reached under the live definition version)", style="yellow")
    title = f"KPI Flow {plan.quarter} · as of {board.as_of}" + (
        f" · team {board.team}" if board.team else ""
    )
    parts: list[RenderableType] = [
        Panel(head, title=escape(title), title_align="left", box=box.ROUNDED)
    ]
    for rank, focus in enumerate(plan.focus, 1):
        kpi = focus.kpi
        spec = spec_of(kpi)
        big = rank == 1
        label = "MASTER KPI" if big else f"focus KPI {rank}"
        body = Group(_summary(board, _headline(board, kpi), kpi, big), Text(""), _table(board, kpi))

        subtitle = f"{spec.kind} · {spec.description}"
        if spec.value_type == "amount":
            subtitle += f" · in {board.currency}"
        parts.append(
            Panel(
                body,
                title=f"[bold]{label}[/] · [bold]{escape(kpi)}[/]",
                subtitle=escape(subtitle),
                title_align="left",
                subtitle_align="right",
                box=box.DOUBLE if big else box.ROUNDED,
                border_style="bold magenta" if big else "blue",
                padding=(0, 2) if big else (0, 1),
            )
        )
    return Group(*parts)
