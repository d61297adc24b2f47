"""Pacing: is each focus KPI on its way to the target? Pure: the day and the actuals are inputs.

For a target T over a quarter of N working days, on day `as_of` with E completed working days
(those strictly before `as_of`; today is not done yet, so it does not count):

- KPIs that add up over the quarter (counts and amounts, `accumulation = sum`):
  expected = T * (E / N), projected end = actual / (E / N) (none while E = 0);
- point-in-time and ratio KPIs (`pipeline_value` and the insight KPIs, `accumulation = latest`):
  the actual is the latest quarter-to-date value, expected = T all quarter long, projected = actual;
- pace = actual / expected, or expected / actual where lower is better (`deal_velocity_days`,
  `stage_days:*`); none when its denominator is 0;
- on track: actual >= expected (lower is better: actual <= expected), i.e. pace >= 1. On the first
  working day nothing is expected yet, so every additive row is on track. An insight KPI with no
  value yet (no row) is not on track.

Which teams and reps get a row: every team and rep with any KPI value in the quarter (the
roster), plus the scope's teams and those the plan in effect names in any override; the target
is the KPI's override for that id, else its default (no row without either). With a team
scope, only the scope's teams and the reps whose team is in it (reps named by an override
always). Insight KPIs never get rep rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from kpiflow.projections.catalog import KpiSpec, spec_of
from kpiflow.projections.plans.calendar import elapsed_working_days
from kpiflow.projections.plans.model import EffectivePlan, Targets

Accumulation = Literal["sum", "latest"]
ActualKey = tuple[str, str, str]  # (kpi, dimension_kind, dimension)
AT_RISK_PACE = 0.9  # pace from here to 1 shows as "at risk" (yellow) on the board


def accumulation(spec: KpiSpec) -> Accumulation:
    """`sum` for KPIs whose quarter value is the sum of its days; `latest` for the others."""
    return "sum" if spec.additive else "latest"


def lower_is_better(spec: KpiSpec) -> bool:
    """Durations: fewer days in a stage or to a win is better."""
    return spec.name == "deal_velocity_days" or spec.name.startswith("stage_days:")


@dataclass(frozen=True)
class Pace:
    target: float
    actual: float | None
    expected: float
    pace: float | None
    projected: float | None
    on_track: bool


def pace_one(
    target: float,
    actual: float | None,
    elapsed: int,
    total: int,
    how: Accumulation = "sum",
    lower_better: bool = False,
) -> Pace:
    """The pacing arithmetic of one target (see the module docstring)."""
    if how == "sum":
        share = elapsed / total  # exactly 1.0 at the end: expected is then the target itself
        expected = target * share
        projected = actual / share if actual is not None and elapsed else None
    else:
        expected = target
        projected = actual
    if actual is None:
        return Pace(target, None, expected, None, None, False)
    if lower_better:
        pace = expected / actual if actual > 0 else None
        on_track = actual <= expected
    else:
        pace = actual / expected if expected > 0 else None
        on_track = actual >= expected
    return Pace(target, actual, expected, pace, projected, on_track)


def status(p: Pace) -> str:
    """For the board: no data, not started, on track, at risk (pace >= 0.9) or behind."""
    if p.actual is None:
        return "no data"
    if p.on_track:
        return "on track" if p.pace is not None or p.expected else "not started"
    return "at risk" if p.pace is not None and p.pace >= AT_RISK_PACE else "behind"


@dataclass(frozen=True)
class Roster:
    """Who can have a row: the teams seen in the quarter, and each rep seen with its team."""

    teams: frozenset[str] = frozenset()
    # rep -> team ('' when unknown): the reps seen in the quarter, and the teams of named reps
    rep_teams: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PacingRow:
    quarter_start: date
    kpi: str
    is_master: bool
    focus_rank: int
    dimension_kind: str
    dimension: str
    target: float
    actual_to_date: float | None
    expected_to_date: float
    pace_ratio: float | None
    projected_end: float | None
    on_track: bool
    team: str  # team rows: the team; rep rows: the rep's team ('' unknown); all: ''
    working_days_elapsed: int
    working_days_total: int

    @property
    def pace(self) -> Pace:
        return Pace(
            self.target,
            self.actual_to_date,
            self.expected_to_date,
            self.pace_ratio,
            self.projected_end,
            self.on_track,
        )


def named(plan: EffectivePlan, kind: str) -> set[str]:
    """The teams or reps the plan in effect names in any target (`teams:` / `reps:`)."""
    return {k for f in plan.focus for k in (f.targets.teams if kind == "team" else f.targets.reps)}


def _dimensions(
    plan: EffectivePlan, spec: KpiSpec, targets: Targets, roster: Roster
) -> Iterable[tuple[str, str, str, float]]:
    """(dimension_kind, dimension, team, target) of each row of one focus KPI."""
    scope = set(plan.scope_teams)
    if targets.all is not None:
        yield "all", "all", "", targets.all
    teams = set(roster.teams) | scope | named(plan, "team")
    for team in sorted(t for t in teams if t):
        if scope and team not in scope and team not in targets.teams:
            continue
        target = targets.for_dimension("team", team)
        if target is not None:
            yield "team", team, team, target
    if spec.kind == "insight":
        return
    reps = set(roster.rep_teams) | named(plan, "rep")
    for rep in sorted(r for r in reps if r):
        team = roster.rep_teams.get(rep, "")
        if scope and team not in scope and rep not in targets.reps:
            continue
        target = targets.for_dimension("rep", rep)
        if target is not None:
            yield "rep", rep, team, target


def pace_plan(
    plan: EffectivePlan,
    as_of: date,
    actuals: Mapping[ActualKey, float],
    roster: Roster,
) -> list[PacingRow]:
    """One row per focus KPI and dimension, in rank order, then all / team / rep, then id.

    `actuals` maps (kpi, dimension_kind, dimension) to the quarter-to-date value; a missing entry
    is 0 for action and result KPIs and "no value yet" for insight KPIs.
    """
    total = len(plan.working_days)
    elapsed = elapsed_working_days(plan.working_days, as_of)
    rows = []
    for rank, focus in enumerate(plan.focus, 1):
        spec = spec_of(focus.kpi)
        how = accumulation(spec)
        for kind, dimension, team, target in _dimensions(plan, spec, focus.targets, roster):
            actual = actuals.get((focus.kpi, kind, dimension))
            if actual is None and spec.kind != "insight":
                actual = 0.0
            p = pace_one(target, actual, elapsed, total, how, lower_is_better(spec))
            rows.append(
                PacingRow(
                    plan.quarter_start,
                    focus.kpi,
                    focus.master,
                    rank,
                    kind,
                    dimension,
                    p.target,
                    p.actual,
                    p.expected,
                    p.pace,
                    p.projected,
                    p.on_track,
                    team,
                    elapsed,
                    total,
                )
            )
    return rows
