"""Pacing arithmetic, by hand: Q4 2026 has 66 weekdays, 22 of them in October."""

from __future__ import annotations

from datetime import date

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from kpiflow.projections.plans import Roster, pace_one, pace_plan, parse_plan
from kpiflow.projections.plans.pacing import status


def test_additive_kpi_paces_linearly_over_completed_working_days():
    p = pace_one(630, 250, elapsed=21, total=63)
    assert p.expected == 210  # 630 * (21 / 63)
    assert p.pace == pytest.approx(250 / 210)
    assert p.projected == 750  # 250 / (21 / 63)
    assert p.on_track and status(p) == "on track"


def test_first_day_nothing_is_expected_yet():
    p = pace_one(630, 5, elapsed=0, total=63)
    assert (p.expected, p.pace, p.projected, p.on_track) == (0, None, None, True)
    assert status(p) == "not started"


def test_quarter_end_and_at_risk_and_behind():
    p = pace_one(630, 600, elapsed=63, total=63)
    assert (p.expected, p.projected, p.on_track) == (630, 600, False)
    assert p.pace == pytest.approx(600 / 630) and status(p) == "at risk"  # 95%
    assert status(pace_one(630, 500, 63, 63)) == "behind"  # 79%


def test_latest_value_kpi_holds_the_target_all_quarter():
    p = pace_one(0.3, 0.24, elapsed=10, total=63, how="latest")
    assert (p.expected, p.projected, p.on_track) == (0.3, 0.24, False)
    assert p.pace == pytest.approx(0.8)


def test_lower_is_better_inverts():
    slow = pace_one(30, 40, 10, 63, "latest", lower_better=True)
    assert slow.pace == pytest.approx(0.75) and not slow.on_track
    fast = pace_one(30, 25, 10, 63, "latest", lower_better=True)
    assert fast.pace == pytest.approx(1.2) and fast.on_track
    instant = pace_one(30, 0, 10, 63, "latest", lower_better=True)
    assert instant.pace is None and instant.on_track


def test_no_value_is_not_on_track():
    p = pace_one(0.3, None, 10, 63, "latest")
    assert (p.actual, p.pace, p.projected, p.on_track) == (None, None, None, False)
    assert status(p) == "no data"


PLAN = """
quarter: 2026-Q4
focus:
  - kpi: won_deals
    master: true
    targets: {all: 90, team: 30, teams: {team-south: 45}, rep: 9, reps: {rep-new: 3}}
  - kpi: close_rate
    targets: {all: 0.3, team: 0.25}
review: {rhythm: weekly, day: mon}
reward: cake
"""

ROSTER = Roster(
    frozenset({"team-north", "team-south"}), {"rep-ada": "team-north", "rep-ben": "team-south"}
)
ACTUALS = {
    ("won_deals", "all", "all"): 33.0,
    ("won_deals", "team", "team-north"): 12.0,
    ("won_deals", "team", "team-south"): 21.0,
    ("won_deals", "rep", "rep-ada"): 12.0,
    ("close_rate", "all", "all"): 0.3,
    ("close_rate", "team", "team-north"): 0.2,
    ("close_rate", "rep", "rep-ada"): 0.9,  # never shown: insight KPIs have no rep rows
}


def rows_of(plan_text: str, roster: Roster = ROSTER, as_of: date = date(2026, 11, 2)):
    plan = parse_plan(yaml.safe_load(plan_text)).at(as_of)
    return [
        (
            r.kpi,
            r.dimension_kind,
            r.dimension,
            r.team,
            r.target,
            r.actual_to_date,
            r.expected_to_date,
            None if r.pace_ratio is None else round(r.pace_ratio, 9),
            None if r.projected_end is None else round(r.projected_end, 9),
            r.on_track,
        )
        for r in pace_plan(plan, as_of, ACTUALS, roster)
    ]


def test_pace_plan_by_hand():
    # 2026-11-02 is a Monday: the 22 October weekdays are done, a third of 66
    assert rows_of(PLAN) == [
        ("won_deals", "all", "all", "", 90, 33, 30, 1.1, 99, True),
        ("won_deals", "team", "team-north", "team-north", 30, 12, 10, 1.2, 36, True),
        ("won_deals", "team", "team-south", "team-south", 45, 21, 15, 1.4, 63, True),
        ("won_deals", "rep", "rep-ada", "team-north", 9, 12, 3, 4.0, 36, True),
        ("won_deals", "rep", "rep-ben", "team-south", 9, 0, 3, 0, 0, False),  # no row: 0
        ("won_deals", "rep", "rep-new", "", 3, 0, 1, 0, 0, False),  # named by the plan
        ("close_rate", "all", "all", "", 0.3, 0.3, 0.3, 1.0, 0.3, True),
        ("close_rate", "team", "team-north", "team-north", 0.25, 0.2, 0.25, 0.8, 0.2, False),
        ("close_rate", "team", "team-south", "team-south", 0.25, None, 0.25, None, None, False),
    ]


def test_rank_and_master_flags():
    plan = parse_plan(yaml.safe_load(PLAN)).at(date(2026, 11, 2))
    rows = pace_plan(plan, date(2026, 11, 2), ACTUALS, ROSTER)
    assert {(r.kpi, r.focus_rank, r.is_master) for r in rows} == {
        ("won_deals", 1, True),
        ("close_rate", 2, False),
    }
    assert {(r.working_days_elapsed, r.working_days_total) for r in rows} == {(22, 66)}


def test_team_scope_keeps_its_teams_and_their_reps():
    scoped = PLAN.replace(
        "targets: {all: 90, team: 30, teams: {team-south: 45}", "targets: {all: 90, team: 30"
    )
    scoped += "scope: {teams: [team-north, team-west]}\n"
    roster = Roster(ROSTER.teams, {**ROSTER.rep_teams, "rep-x": ""})
    dims = [(k, d, dim) for k, d, dim, *_ in rows_of(scoped, roster)]
    assert dims == [
        ("won_deals", "all", "all"),
        ("won_deals", "team", "team-north"),
        ("won_deals", "team", "team-west"),  # in scope: shown with 0 before any data
        ("won_deals", "rep", "rep-ada"),
        ("won_deals", "rep", "rep-new"),  # named by an override: shown whatever its team
        ("close_rate", "all", "all"),
        ("close_rate", "team", "team-north"),
        ("close_rate", "team", "team-west"),
    ]


def test_only_defaults_or_overrides_make_rows():
    only_overrides = PLAN.replace(
        "targets: {all: 90, team: 30, teams: {team-south: 45}, rep: 9, reps: {rep-new: 3}}",
        "targets: {teams: {team-south: 45}, reps: {rep-ada: 10}}",
    )
    dims = [(d, dim) for k, d, dim, *_ in rows_of(only_overrides) if k == "won_deals"]
    assert dims == [("team", "team-south"), ("rep", "rep-ada")]


@given(
    target=st.floats(min_value=0.01, max_value=1e7),
    actual=st.floats(min_value=0, max_value=1e7),
    total=st.integers(min_value=1, max_value=70),
    data=st.data(),
)
def test_pace_properties(target, actual, total, data):
    elapsed = data.draw(st.integers(min_value=0, max_value=total))
    p = pace_one(target, actual, elapsed, total)
    assert p.expected <= target  # never above the target through rounding
    if elapsed == total:
        assert p.expected == target and p.projected == actual
    if p.pace is not None:
        assert p.on_track == (p.pace >= 1) or abs(p.pace - 1) < 1e-12
        # projected end / target is the pace: both scale the actual by N / E
        assert p.projected / target == pytest.approx(p.pace, rel=1e-9)
    else:
        assert elapsed == 0 and p.on_track and p.projected is None
    low = pace_one(target, actual, elapsed, total, "latest", lower_better=True)
    assert low.on_track == (actual <= target)
