"""Suggested targets, by hand."""

from __future__ import annotations

from datetime import date

import pytest
import yaml

from kpiflow.projections.plans import parse_plan
from kpiflow.projections.plans.suggest import (
    Suggestion,
    history_weeks,
    percentile,
    render_yaml,
    suggest_targets,
)

W1, W2, W3, W4 = date(2026, 8, 31), date(2026, 9, 7), date(2026, 9, 14), date(2026, 9, 21)


def test_percentile_interpolates_between_closest_ranks():
    assert percentile([5, 1, 4, 2, 3], 80) == pytest.approx(4.2)  # rank 3.2: 4 + 0.2 * (5 - 4)
    assert percentile([1, 2, 3, 4, 5], 50) == 3
    assert percentile([1, 2, 3, 4, 5], 0) == 1 and percentile([1, 2, 3, 4, 5], 100) == 5
    assert percentile([7], 80) == 7
    with pytest.raises(ValueError):
        percentile([], 80)


def test_history_weeks_are_complete_weeks_before_the_cutoff():
    # 2026-10-01 is a Thursday: its week (from Mon 09-28) is not complete
    assert history_weeks(date(2026, 10, 1), 4) == [W1, W2, W3, W4]
    assert history_weeks(date(2026, 9, 28), 1) == [W4]  # a Monday: the week before it is done


HISTORY = {
    ("won_deals", "team", "north"): {W1: 2, W2: 4, W3: 6, W4: 8},
    ("won_deals", "rep", "ada"): {W3: 1, W4: 3},  # started in W3
    ("won_deals", "rep", "bob"): {W1: 5, W3: 5},  # W2 and W4 without a row: 0
    ("close_rate", "team", "north"): {W1: 0.2, W2: 0.4, W4: 0.3},  # W3: no value, left out
    ("close_rate", "rep", "ada"): {W1: 0.9},  # insight: never per rep
    ("deal_velocity_days", "all", "all"): {W1: 10, W2: 20, W3: 30, W4: 40},
    ("new_business_value", "all", "all"): {W1: 1000.5, W2: 2000.25},
}


def test_suggest_targets_by_hand():
    kpis = ["won_deals", "close_rate", "deal_velocity_days", "new_business_value"]
    # a quarter of 63 working days, 5 a week: 12.6 weeks
    got = suggest_targets(HISTORY, kpis, [W1, W2, W3, W4], 80, 63, 5)
    assert got == [
        # p80 of 2,4,6,8 = 6.8 (rank 2.4); x 12.6 = 85.68 -> up to 86
        Suggestion("won_deals", "team", "north", pytest.approx(6.8), 4, 86),
        # from its first week: 1,3 -> 2.6; x 12.6 = 32.76 -> 33
        Suggestion("won_deals", "rep", "ada", pytest.approx(2.6), 2, 33),
        # 5,0,5,0 -> sorted 0,0,5,5, rank 2.4 -> 5; x 12.6 = 63 (not 64: float noise is rounded off)
        Suggestion("won_deals", "rep", "bob", pytest.approx(5.0), 4, 63),
        # a ratio: the percentile itself, 0.2,0.3,0.4 rank 1.6 -> 0.36
        Suggestion("close_rate", "team", "north", pytest.approx(0.36), 3, 0.36),
        # lower is better: p20 of 10,20,30,40 (rank 0.6) = 16 days
        Suggestion("deal_velocity_days", "all", "all", pytest.approx(16.0), 4, 16.0),
        # W3, W4 without a row are 0: sorted 0, 0, 1000.5, 2000.25, rank 2.4 ->
        # 1000.5 + 0.4 * 999.75 = 1400.4; x 12.6 = 17645.04 -> up to 17646
        Suggestion("new_business_value", "all", "all", pytest.approx(1400.4), 4, 17646),
    ]


def test_suggestions_paste_into_a_valid_plan():
    kpis = ["won_deals", "close_rate"]
    found = suggest_targets(HISTORY, kpis, [W1, W2, W3, W4], 80, 63, 5)
    text = render_yaml(found, kpis, "won_deals", ["a header"])
    assert text.startswith("# a header\nfocus:\n")
    focus = yaml.safe_load(text)["focus"]
    assert focus == [
        {
            "kpi": "won_deals",
            "master": True,
            "targets": {"teams": {"north": 86}, "reps": {"ada": 33, "bob": 63}},
        },
        {"kpi": "close_rate", "targets": {"teams": {"north": 0.36}}},
    ]
    plan = parse_plan(
        {
            "quarter": "2026-Q4",
            "focus": focus,
            "review": {"rhythm": "weekly", "day": "fri"},
            "reward": "x",
        }
    )
    assert plan.at(date(2026, 10, 1)).master.kpi == "won_deals"


def test_odd_ids_are_quoted_in_the_yaml():
    odd = "x'; DROP TABLE plan_targets; --"
    found = [
        Suggestion("won_deals", "rep", odd, 1.0, 1, 13),
        Suggestion("won_deals", "rep", "yes", 1.0, 1, 13),
    ]
    focus = yaml.safe_load(render_yaml(found, ["won_deals"], "won_deals", []))["focus"]
    assert focus[0]["targets"]["reps"] == {odd: 13, "yes": 13}


def test_no_target_is_suggested_that_plan_check_would_refuse():
    """A rep whose weeks are all 0 got `rep-003: 0` before, which `plan check` rejects."""
    history = {
        ("won_deals", "rep", "rep-003"): {W1: 0, W2: 0},
        ("won_deals", "rep", "rep-004"): {W1: 1},
        ("close_rate", "team", "north"): {W1: 0.0, W2: 0.0},
    }
    got = suggest_targets(history, ["won_deals", "close_rate"], [W1, W2, W3, W4], 80, 63, 5)
    assert [(s.kpi, s.dimension) for s in got] == [("won_deals", "rep-004")]
    text = render_yaml(got, ["won_deals"], "won_deals", [])
    focus = yaml.safe_load(text)["focus"]
    plan = parse_plan(
        {"quarter": "2026-Q4", "focus": focus, "review": {"rhythm": "weekly", "day": "fri"},
         "reward": "x"}
    )  # fmt: skip
    assert plan.at(date(2026, 10, 1)).master.kpi == "won_deals"
