"""Suggested targets from history: realistic (it has been done) yet challenging (often not).

For each KPI and each dimension value (all, every team, every rep; insight KPIs: all and teams),
take its weekly values over the last N complete ISO weeks, and their p-th percentile (linear
interpolation between the closest ranks, as numpy's default):

- a team or rep is judged from its first week with a value in the window on (a rep who started
  three weeks ago is not pulled down by the weeks before); a later week without a row is 0 for
  action and result KPIs, and left out for insight KPIs (no value that week);
- KPIs that add up over the quarter: target = percentile x the quarter's working days / the
  working days of a week (the weekday count; 12.6 weeks for 63 working days of Mon-Fri);
- point-in-time and ratio KPIs: target = the percentile itself (a level to hold); where lower
  is better (durations) the (100 - p)-th percentile, so challenging still means better.

Targets are rounded the challenging way: counts and amounts up to a whole number, ratios to 3
decimals, days to 1 decimal. Pure: history and calendar are inputs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import yaml

from kpiflow.projections.catalog import spec_of
from kpiflow.projections.plans.pacing import accumulation, lower_is_better

History = Mapping[
    tuple[str, str, str], Mapping[date, float]
]  # (kpi, kind, dimension) -> week -> value


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (0-100) by linear interpolation between closest ranks."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def history_weeks(cutoff: date, count: int) -> list[date]:
    """The Mondays of the `count` complete ISO weeks before `cutoff`, oldest first."""
    this_monday = cutoff - timedelta(days=cutoff.weekday())
    return [this_monday - timedelta(weeks=k) for k in range(count, 0, -1)]


@dataclass(frozen=True)
class Suggestion:
    kpi: str
    dimension_kind: str
    dimension: str
    weekly: float  # the percentile of the weekly values
    weeks_used: int
    target: float


def round_target(kpi: str, value: float) -> float | int:
    value_type = spec_of(kpi).value_type
    if value_type in ("count", "amount"):
        return math.ceil(round(value, 6))  # round first: 63.00000000000001 is 63
    if value_type == "ratio":
        return round(value, 3)
    return round(value, 1)


def series(kpi: str, by_week: Mapping[date, float], weeks: Sequence[date]) -> list[float]:
    """The weekly values of one dimension value used for its percentile (see the module doc)."""
    seen = [w for w in weeks if w in by_week]
    if not seen:
        return []
    if spec_of(kpi).kind == "insight":
        return [by_week[w] for w in seen]
    return [by_week.get(w, 0.0) for w in weeks if w >= seen[0]]


def suggest_targets(
    history: History,
    kpis: Sequence[str],
    weeks: Sequence[date],
    pct: float,
    quarter_working_days: int,
    working_days_per_week: int,
) -> list[Suggestion]:
    """A suggestion per KPI and dimension value with history in `weeks`, in KPI order, then all,
    teams, reps by id."""
    factor = quarter_working_days / working_days_per_week
    out = []
    for kpi in kpis:
        spec = spec_of(kpi)
        keys = sorted(
            (k for k in history if k[0] == kpi and (k[1] != "rep" or spec.kind != "insight")),
            key=lambda k: ({"all": 0, "team": 1, "rep": 2}[k[1]], k[2]),
        )
        for key in keys:
            values = series(kpi, history[key], weeks)
            if not values:
                continue
            p = 100 - pct if lower_is_better(spec) else pct
            weekly = percentile(values, p)
            raw = weekly * factor if accumulation(spec) == "sum" else weekly
            target = round_target(kpi, raw)
            if spec.value_type == "ratio":
                target = min(target, 1.0)
            if not target > 0:
                continue  # a target must be positive (plan check): no history, no suggestion
            out.append(Suggestion(kpi, key[1], key[2], weekly, len(values), target))
    return out


def render_yaml(
    suggestions: Sequence[Suggestion],
    kpis: Sequence[str],
    master: str | None,
    header: Sequence[str],
) -> str:
    """The suggestions as a `focus:` block to paste into a plan file, with `header` as comments."""
    focus: list[dict[str, Any]] = []
    for kpi in kpis:
        mine = [s for s in suggestions if s.kpi == kpi]
        targets: dict[str, Any] = {}
        for s in mine:
            if s.dimension_kind == "all":
                targets["all"] = s.target
        teams = {s.dimension: s.target for s in mine if s.dimension_kind == "team"}
        reps = {s.dimension: s.target for s in mine if s.dimension_kind == "rep"}
        if teams:
            targets["teams"] = teams
        if reps:
            targets["reps"] = reps
        entry: dict[str, Any] = {"kpi": kpi}
        if kpi == master:
            entry["master"] = True
        entry["targets"] = targets  # {} when there is no history: `plan check` asks for a target
        focus.append(entry)
    body = yaml.safe_dump(
        {"focus": focus}, sort_keys=False, allow_unicode=True, default_flow_style=False
    )
    comments = "".join(f"# {line}\n" for line in header)
    return comments + body
