"""Coaching numbers read back from the embedded ClickHouse after the projector wrote them: the
hand-computed funnel of one rep and of the team, the period bounds, a tombstoned deal."""

from __future__ import annotations

from datetime import date

import pytest

from kpiflow.errors import ConfigError
from kpiflow.projections.coaching.queries import Period, quarter, side, team_of
from kpiflow.projections.projector import Projector
from tests.projections.coaching.coaching_cases import EVENTS, REP_R1, TEAM_NORTH
from tests.projections.kpi_events import UTC
from tests.projections.test_projector import insert_raw, run_until_idle

Q3 = quarter("2026-Q3")


def funnel(s) -> dict:
    return {
        f.stage: (f.ended, f.forward, f.lost, f.back, f.median_days) for f in s.stages if f.ended
    }


@pytest.fixture
def built(ch_store):
    insert_raw(ch_store, EVENTS)
    run_until_idle(Projector(ch_store, UTC))
    return ch_store


def test_the_rep_and_the_team_funnel(built):
    assert team_of(built, "r1", Q3, UTC) == "north"
    rep = side(built, "rep", "r1", Q3, UTC)
    team = side(built, "team", "north", Q3, UTC)
    assert funnel(rep) == REP_R1
    assert funnel(team) == TEAM_NORTH
    assert (rep.won_deals, rep.lost_deals, rep.close_rate, rep.velocity_days) == (1, 1, 0.5, 17.0)
    assert (team.won_deals, team.lost_deals, team.velocity_days) == (2, 2, 10.5)
    assert (rep.won_value, team.won_value) == (1000.0, 1500.0)
    assert rep.activities == {"call": 2, "email": 1}
    assert team.activities == {"call": 2, "email": 1, "meeting": 1}
    assert (rep.activity_points, team.activity_points) == (7.0, 15.0)  # 3+3+1, +8
    assert (rep.outbound_contacts, team.outbound_contacts) == (3, 3)
    assert team.reps == 2


def test_period_bounds_are_local_dates():
    assert quarter("2026-Q4") == Period(date(2026, 10, 1), date(2026, 12, 31))
    assert quarter("2026-q1") == Period(date(2026, 1, 1), date(2026, 3, 31))
    with pytest.raises(ConfigError, match="YYYY-Qn"):
        quarter("Q3")


def test_a_shorter_period_counts_only_what_ended_in_it(built):
    early = Period(date(2026, 7, 1), date(2026, 7, 5))
    rep = side(built, "rep", "r1", early, UTC)
    # d1's prospect stay ended 07-03, d2's qualified stay 07-04; d1's qualified stay ends 07-08
    assert funnel(rep) == {"prospect": (1, 1, 0, 0, 2.0), "qualified": (1, 1, 0, 0, 2.0)}
    assert (rep.won_deals, rep.velocity_days, rep.close_rate) == (0, None, None)


def test_an_unknown_rep_is_an_error_that_lists_no_reps(built):
    with pytest.raises(ConfigError, match="no events of rep 'r9'") as caught:
        team_of(built, "r9", Q3, UTC)
    assert "r1" not in str(caught.value)


def test_a_rebuild_tombstones_deals_that_have_no_facts_any_more(built):
    from kpiflow.projections.engine.deals import DealOutcome, Stay
    from kpiflow.projections.writer import RevisionClock, write_coaching

    ghost = DealOutcome(stays=(Stay("proposal", date(2026, 7, 9), "north", "r1", 9.0, "lost"),))
    write_coaching(built, 1, [("ghost", ghost)], [], RevisionClock())
    assert funnel(side(built, "rep", "r1", Q3, UTC))["proposal"][0] == 3
    built.command("TRUNCATE TABLE {db}.engine_snapshots")  # no snapshot to start from:
    run_until_idle(Projector(built, UTC))  # a new projector rebuilds from the raw log
    assert funnel(side(built, "rep", "r1", Q3, UTC)) == REP_R1
