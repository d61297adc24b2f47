"""plan check | apply | suggest, and flow: the quarter's KPI Flow plan and its live board."""

from __future__ import annotations

import inspect
import json
import re
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from kpiflow.commands.common import console, day_option, err_console, settings, stored_custom_kpis
from kpiflow.errors import ConfigError, KpiflowError

plan_app = typer.Typer(
    name="plan",
    help=(
        "The quarter's KPI Flow plan: 1-3 focus KPIs (exactly one Master KPI), targets per "
        "team and rep, review rhythm, reward, dated mid-quarter changes. One YAML file per "
        "quarter; the format is in docs/plans.md, an example in examples/plans/."
    ),
    no_args_is_help=True,
    rich_markup_mode="rich",
)

STORE_HELP = (
    "ClickHouse: KPIFLOW_CLICKHOUSE_DSN (empty: the embedded engine under KPIFLOW_DATA_DIR; "
    "while `kpiflow worker` runs, through the worker), database KPIFLOW_CLICKHOUSE_DATABASE."
)
FileArg = Annotated[
    Path, typer.Argument(help="the plan file (YAML), e.g. examples/plans/2026-Q4.yaml")
]


def _today() -> date:
    return datetime.now(settings().pipeline.tz).date()


JsonOption = Annotated[
    bool, typer.Option("--json", help="one JSON document instead of the text (for scripts)")
]


def _load(file: Path, *, as_json: bool = False):
    """The plan in `file`, or every problem printed (with file:line) and exit code 1."""
    from kpiflow.projections.plans import PlanError, load_plan
    from kpiflow.projections.yaml_places import render_path

    try:
        return load_plan(file)
    except PlanError as exc:
        if as_json:
            problems = [
                {"line": p.line, "field": render_path(p.path) or "plan", "message": p.message}
                for p in exc.problems
            ]
            _print_json({"file": str(file), "ok": False, "problems": problems})
            raise typer.Exit(1) from None
        err_console.print(Text(str(exc).splitlines()[0] + ":", style="bold red"), soft_wrap=True)
        for problem in exc.problems:
            err_console.print(Text("  " + problem.render(str(file))), soft_wrap=True)
        raise typer.Exit(1) from None


def _print_json(doc: object) -> None:
    sys.stdout.write(json.dumps(doc, indent=2, sort_keys=True, default=str) + "\n")


def _describe(plan, at: date | None) -> None:
    from kpiflow.projections.plans.calendar import review_dates
    from kpiflow.projections.plans.rules import describe

    quarter = plan.period
    effective = plan.at(at or quarter.start)
    days = plan.working_dates()
    scope = f", teams {', '.join(plan.scope_teams)}" if plan.scope_teams else ", every team"
    console.print(
        Text(
            f"plan for {plan.quarter} ({quarter.start} .. {quarter.end}): "
            f"{len(days)} working days{scope}"
        ),
        soft_wrap=True,
    )
    when = f"in effect on {at}" if at else "on the quarter's first day"
    console.print(Text(f"focus KPIs {when}:"))
    for rank, focus in enumerate(effective.focus, 1):
        label = "Master KPI" if rank == 1 else f"focus {rank}"
        console.print(Text(f"  {label}: {focus.kpi}  ({describe(focus.targets)})"), soft_wrap=True)
    reviews = review_dates(quarter, plan.review.rhythm, plan.review.day)
    console.print(
        Text(f"review: {plan.review.rhythm} on {plan.review.day} ({len(reviews)} this quarter)")
    )
    console.print(Text(f"reward: {plan.reward}"), soft_wrap=True)
    if effective.definition_version:
        console.print(Text(f"definition version: {effective.definition_version}"))
    for change in plan.changes:
        what = []
        what += [f"-{k}" for k in change.remove_focus]
        what += [f"+{f.kpi}" for f in change.add_focus]
        if change.master:
            what.append(f"master {change.master}")
        what += [f"targets of {k}" for k in change.targets]
        if change.definition_version:
            what.append(f"definition v{change.definition_version}")
        console.print(
            Text(f"change {change.on}: {', '.join(what)} - {change.reason}"), soft_wrap=True
        )


def check(
    file: FileArg,
    at: Annotated[
        str | None,
        typer.Option(
            "--at",
            help="also show the plan in effect on this day (YYYY-MM-DD), changes up to it applied",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Check a plan file against the format and the KPI Flow rules; print what it plans.

    Reports every problem with file:line and the field: no or two Master KPIs, more than three
    focus KPIs, a per-rep target on an insight KPI, an unknown KPI (with the known ones), a KPI
    with no quarter-to-date value, a change dated outside the quarter, ... Exit code 1 when
    there is any. Needs no database.
    """
    plan = _load(file, as_json=as_json)
    if as_json:
        day = day_option(at, "--at")
        effective = plan.at(day or plan.period.start)
        _print_json(
            {
                "file": str(file),
                "ok": True,
                "problems": [],
                "plan": json.loads(plan.canonical_json()),
                "in_effect": {
                    "on": (day or plan.period.start).isoformat(),
                    "focus": [
                        {"kpi": f.kpi, "master": i == 0} for i, f in enumerate(effective.focus)
                    ],
                },
            }
        )
        return
    console.print(Text(f"{file}: OK", style="bold green"))
    _describe(plan, day_option(at, "--at"))


def apply(file: FileArg) -> None:
    """Check a plan file and store it in ClickHouse as the quarter's new plan revision.

    Writes plan_targets (the plan in effect from the quarter's first day and from each change's
    date) and plan_changes (the file itself and each change). Applying an unchanged file again
    stores nothing. The kpi_pacing view and `kpiflow flow` read the latest revision.
    """
    from kpiflow.projections import operations
    from kpiflow.projections.plans.storage import Applied, known_definition_versions
    from kpiflow.projections.store import open_store

    plan = _load(file)
    store = open_store(settings())
    try:
        versions = {c.definition_version for c in plan.changes} | {plan.definition_version}
        known = known_definition_versions(store)
        for version in sorted(v for v in versions if v):
            if version not in known:
                err_console.print(
                    Text(
                        f"warning: the plan refers to definition version {version}, which is "
                        "not registered yet (`kpiflow definitions`); pacing reads the live "
                        "version's numbers",
                        style="yellow",
                    ),
                    soft_wrap=True,
                )
        result = Applied(**operations.run(store, "store_plan", plan=plan.canonical_json()))
    finally:
        store.close()
    if result.unchanged:
        console.print(f"{plan.quarter}: unchanged, still revision {result.revision}")
    else:
        console.print(
            f"{plan.quarter}: stored revision [bold]{result.revision}[/] "
            f"({result.target_rows} target rows, {len(plan.changes)} changes)"
        )


DEFAULT_PERCENTILE = 80.0
DEFAULT_WEEKS = 12


def suggest(
    quarter: Annotated[
        str, typer.Option("--quarter", "-q", help="the quarter to plan, e.g. 2026-Q4")
    ],
    percentile: Annotated[
        float,
        typer.Option(min=1, max=99, help="how challenging: the percentile of past weekly values"),
    ] = DEFAULT_PERCENTILE,
    weeks: Annotated[
        int,
        typer.Option(
            min=1,
            max=104,
            help="how many complete weeks of history before the quarter (or before today)",
        ),
    ] = DEFAULT_WEEKS,
    kpis: Annotated[
        list[str] | None,
        typer.Option(
            "--kpi",
            "-k",
            help="a KPI to suggest targets for (repeat); default: the plan's focus KPIs",
        ),
    ] = None,
    plan_file: Annotated[
        Path | None,
        typer.Option(
            "--plan",
            help="take focus KPIs and working days from this plan file instead of the stored plan",
            envvar="KPIFLOW_PLAN_FILE",
            show_envvar=True,
        ),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="pretend today is this day (YYYY-MM-DD); history ends before it or before "
            "the quarter, whichever is first",
        ),
    ] = None,
) -> None:
    """Suggest realistic yet challenging targets per focus KPI, team and rep, as plan YAML.

    From the weekly KPI values (kpi_values, week grain): the --percentile of each team's and
    rep's last --weeks complete weeks, times the quarter's weeks (its working days / 5 for a
    Mon-Fri week; holidays of the plan count). Point-in-time and ratio KPIs get the percentile
    itself; where lower is better (durations) the (100 - percentile)-th. Insight KPIs get no rep
    targets. Prints a `focus:` block to paste into the plan. KPIs: --kpi, else the plan's (--plan,
    else the stored plan of the quarter, else the latest stored plan).
    """
    from kpiflow.projections.catalog import spec_of
    from kpiflow.projections.plans.calendar import Quarter
    from kpiflow.projections.plans.rules import focus_kpi_problems
    from kpiflow.projections.plans.storage import latest_stored_quarter, stored_plan, weekly_history
    from kpiflow.projections.plans.suggest import history_weeks, render_yaml, suggest_targets
    from kpiflow.projections.store import open_store

    try:
        period = Quarter.parse(quarter)
    except ValueError as exc:
        raise ConfigError(f"--quarter: {exc}") from None
    today = day_option(as_of, "--as-of") or _today()
    plan = _load(plan_file) if plan_file else None
    store = open_store(settings())
    try:
        if plan is None:  # the stored plan gives the calendar, the Master KPI and default KPIs
            found = stored_plan(store, period)
            if found is None:
                previous = latest_stored_quarter(store, period.start)
                found = stored_plan(store, previous) if previous else None
            plan = found[0] if found else None
        names = list(dict.fromkeys(kpis or _focus_kpis(plan, period)))
        if not names:
            raise ConfigError(
                f"no plan stored for {period} or before it: name the KPIs with --kpi "
                "(e.g. --kpi won_deals)"
            )
        for name in names:
            problems = focus_kpi_problems(name, ("--kpi",))
            if problems:
                raise ConfigError(problems[0].message)
        planned = _focus_kpis(plan, period)
        master = planned[0] if planned and planned[0] in names else names[0]
        days, per_week = _calendar(plan, period)
        window = history_weeks(min(today, period.start), weeks)
        history = weekly_history(store, names, window)
    finally:
        store.close()
    found = suggest_targets(history, names, window, percentile, len(days), per_week)
    factor = len(days) / per_week
    header = [
        f"kpiflow plan suggest --quarter {period} --percentile {percentile:g} --weeks {weeks}",
        f"p{percentile:g} of the weekly values of the {weeks} weeks {window[0]} .. {window[-1]}",
        f"x {factor:.1f} weeks ({len(days)} working days / {per_week} a week) for KPIs that "
        "add up;",
        "point-in-time and ratio KPIs: the percentile itself. Adjust, then paste under the plan's",
        "`focus:` (exactly one KPI has master: true; 1 to 3 focus KPIs).",
    ]
    missing = [n for n in names if not any(s.kpi == n for s in found)]
    if missing:
        header.append(f"no weekly history for {', '.join(missing)}: set its targets by hand")
    for name in names:
        if spec_of(name).kind == "insight":
            header.append(
                f"{name} is an insight KPI: targets for all and teams only, never per rep"
            )
    print(render_yaml(found, names, master, header), end="")


def _calendar(plan, quarter) -> tuple[tuple[date, ...], int]:
    """The quarter's working days and the working days of a week: the plan's when it is the
    quarter's own, else its weekdays without holidays, else Monday to Friday."""
    from kpiflow.projections.plans.calendar import working_days

    if plan is not None and plan.period == quarter:
        return plan.working_dates(), len(plan.working_days.weekdays)
    weekdays = plan.working_days.indexes if plan else tuple(range(5))
    return working_days(quarter, weekdays, ()), len(weekdays)


def _focus_kpis(plan, quarter) -> list[str]:
    """The focus KPIs to suggest for: the plan's at the quarter's start when it is the quarter's
    own plan, its final ones when it is an earlier quarter's (carried over); Master KPI first."""
    if plan is None:
        return []
    day = plan.period.start if plan.period == quarter else plan.period.end
    return [f.kpi for f in plan.at(day).focus]


def _board(store, plan, plan_file: Path | None, as_of: date | None, team: str | None, today: date):
    """The board's data: `plan` (from `plan_file`) or the stored plan of as_of's quarter."""
    from kpiflow.projections.plans.board import Board
    from kpiflow.projections.plans.calendar import Quarter
    from kpiflow.projections.plans.pacing import named, pace_plan
    from kpiflow.projections.plans.storage import (
        live_definition_version,
        load_actuals,
        load_roster,
        stored_plan,
    )

    s = settings()
    if plan is not None:
        quarter = plan.period
        if as_of is None:  # a past quarter: its end; a future one: its start
            as_of = min(max(today, quarter.start), quarter.end + timedelta(days=1))
        elif not quarter.start <= as_of <= quarter.end:
            raise ConfigError(f"--as-of {as_of} is outside {quarter}, the quarter of {plan_file}")
        source = f"plan file {plan_file}"
    else:
        as_of = as_of or today
        quarter = Quarter.of(as_of)
        found = stored_plan(store, quarter)
        if found is None:
            raise ConfigError(
                f"no plan stored for {quarter}: store one with `kpiflow plan apply FILE`, "
                "or show a file with `kpiflow flow --plan FILE`"
            )
        plan, revision = found
        source = f"stored plan revision {revision}"
    effective = plan.at(as_of)
    kpis = [f.kpi for f in effective.focus]
    live = as_of >= today
    actuals = load_actuals(store, quarter, kpis, as_of, live)
    roster = load_roster(store, quarter, named(effective, "rep"))
    rows = pace_plan(effective, as_of, actuals, roster)
    notes = []
    live_version = live_definition_version(store)
    planned = effective.definition_version
    if planned and live_version and planned != live_version:
        notes.append(
            f"the plan measures with definition v{planned}, but v{live_version} is live: "
            f"these are v{live_version}'s numbers until v{planned} is promoted (`kpiflow promote`)"
        )
    insights = [k for k in kpis if _computed_over_the_period(k)]
    if not live and insights:
        notes.append(
            f"as of a past day: {', '.join(insights)} show the quarter so far (ratios and medians "
            "cannot be rebuilt for a past day)"
        )
    if team and not any(r.team == team for r in rows):
        notes.append(f"team {team!r} has no rows: no KPI values this quarter and no target for it")
    from kpiflow.projections.achievements import of_quarter
    from kpiflow.projections.plans.board import Celebration

    reached = tuple(
        Celebration(
            r["kpi"],
            r["dimension_kind"],
            r["dimension"],
            float(r["value"]),
            float(r["target"]),
            r["reward"],
            date.fromisoformat(r["reached_on"]),
            r["holds_in_live"],
        )  # fmt: skip
        for r in of_quarter(store, quarter.start)
        if r["reached_on"] <= as_of.isoformat()
        and (team is None or r["dimension_kind"] == "all" or r["team"] == team)
    )
    return Board(effective, rows, as_of, source, s.pipeline.currency, team, tuple(notes), reached)


def _computed_over_the_period(kpi: str) -> bool:
    """Ratios and medians: neither a sum of days nor a point-in-time value."""
    from kpiflow.projections.catalog import spec_of

    spec = spec_of(kpi)
    return not spec.additive and not spec.point_in_time


def flow(
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of", help="the day to show (YYYY-MM-DD); default today in KPIFLOW_TIMEZONE"
        ),
    ] = None,
    team: Annotated[
        str | None,
        typer.Option(
            "--team",
            "-t",
            help="show one team and its reps only",
            envvar="KPIFLOW_TEAM",
            show_envvar=True,
        ),
    ] = None,
    plan_file: Annotated[
        Path | None,
        typer.Option(
            "--plan",
            help="pace this plan file instead of the stored plan",
            envvar="KPIFLOW_PLAN_FILE",
            show_envvar=True,
        ),
    ] = None,
    watch: Annotated[
        float | None,
        typer.Option(
            "--watch", "-w", min=1, help="redraw every SECONDS with fresh numbers until Ctrl-C"
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """The KPI Flow board of the quarter: Master KPI first, then the other focus KPIs.

    For each: target, actual so far, expected by now (linear over the quarter's working days
    for KPIs that add up), pace (actual / expected), projected end and a status: on track
    (green, pace >= 100%), at risk (yellow, >= 90%), behind (red). Per team, and per rep for
    action and result KPIs (never for insight KPIs). Reads kpi_values of the live definition
    version; works while the worker runs. Amounts in KPIFLOW_CURRENCY.
    """
    from rich.live import Live
    from rich.panel import Panel

    from kpiflow.projections.plans.board import render_board
    from kpiflow.projections.store import open_store

    fixed = day_option(as_of, "--as-of")
    plan = _load(plan_file) if plan_file else None
    if as_json:
        if watch:
            raise ConfigError("--json prints the board once; leave out --watch")
        store = open_store(settings())
        try:
            _print_json(_board_doc(_board(store, plan, plan_file, fixed, team, _today())))
        finally:
            store.close()
        return

    def draw():
        # a store per drawing: with the embedded ClickHouse, holding it between redraws
        # would keep `kpiflow worker` from starting
        store = open_store(settings())
        try:
            return render_board(_board(store, plan, plan_file, fixed, team, _today()))
        finally:
            store.close()

    if not watch:
        console.print(draw())
        return
    try:
        with Live(draw(), console=console, refresh_per_second=4, screen=False) as live:
            while True:
                time.sleep(watch)
                try:
                    live.update(draw())
                except KpiflowError as exc:  # keep watching: the worker may be restarting
                    live.update(Panel(Text(str(exc)), title="cannot refresh", style="red"))
    except KeyboardInterrupt:
        pass


def _board_doc(board) -> dict:
    """The board's numbers for scripts: the plan in effect, every pacing row, celebrations."""
    from dataclasses import asdict

    plan = board.plan
    return {
        "quarter": plan.quarter,
        "as_of": board.as_of.isoformat(),
        "source": board.source,
        "team": board.team,
        "currency": board.currency,
        "reward": plan.reward,
        "focus": [{"kpi": f.kpi, "master": i == 0} for i, f in enumerate(plan.focus)],
        "rows": [asdict(row) for row in board.rows],
        "celebrations": [asdict(c) for c in board.celebrations],
        "notes": list(board.notes),
    }


def _help(command) -> str:
    """The docstring with its paragraphs' line breaks undone, so the terminal can wrap it."""
    return re.sub(r"(?<!\n)\n(?!\n)", " ", inspect.cleandoc(command.__doc__ or ""))


def register(app: typer.Typer) -> None:
    for command in (check, apply, suggest):
        extra = f"\n\n{STORE_HELP}" if command is not check else ""
        plan_app.command(help=_help(command) + extra)(stored_custom_kpis(command))
    app.add_typer(plan_app, name="plan")
    app.command(help=f"{_help(flow)}\n\n{STORE_HELP}")(stored_custom_kpis(flow))
