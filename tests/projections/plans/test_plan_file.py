"""Plan files: the format, the KPI Flow rules, and the error text naming the place."""

from __future__ import annotations

import copy
from datetime import date

import pytest
import yaml

from kpiflow.projections.catalog import CATALOG
from kpiflow.projections.plans import PlanError, load_plan, parse_plan, parse_plan_text
from kpiflow.projections.plans.problems import render_path


@pytest.fixture
def good(good_plan_text) -> dict:
    return yaml.safe_load(good_plan_text)


def problems(data) -> list[str]:
    with pytest.raises(PlanError) as caught:
        parse_plan(data)
    return [f"{render_path(p.path)}: {p.message}" for p in caught.value.problems]


def one(data) -> str:
    found = problems(data)
    assert len(found) == 1, found
    return found[0]


def test_good_plan_parses_and_is_frozen(good):
    plan = parse_plan(good)
    assert plan.quarter == "2026-Q4"
    assert [f.kpi for f in plan.focus] == ["new_business_value", "activity_points", "close_rate"]
    assert len(plan.working_dates()) == 63
    with pytest.raises(Exception, match="frozen"):
        plan.reward = "nothing"  # type: ignore[misc]


def test_two_master_kpis(good):
    good["focus"][1]["master"] = True
    assert one(good) == (
        "focus: on the quarter's first day there are 2 Master KPIs (new_business_value, "
        "activity_points); exactly one focus KPI is the Master KPI"
    )


def test_no_master_kpi(good):
    del good["focus"][0]["master"]
    assert one(good) == (
        "focus: on the quarter's first day there is no Master KPI; mark exactly one focus KPI "
        "with `master: true`"
    )


def test_four_focus_kpis(good):
    good["focus"].append({"kpi": "won_deals", "targets": {"team": 10}})
    assert one(good) == (
        "focus: on the quarter's first day there are 4 focus KPIs (new_business_value, "
        "activity_points, close_rate, won_deals); KPI Flow allows 1 to 3: keep the ones that "
        "matter most this quarter"
    )


def test_no_focus_kpi(good):
    good["focus"] = []
    assert "there is no focus KPI; KPI Flow needs 1 to 3" in one(good)


@pytest.mark.parametrize("where", ["rep", "reps"])
def test_per_rep_target_on_an_insight_kpi(good, where):
    good["focus"][2]["targets"][where] = 0.3 if where == "rep" else {"rep-ada": 0.3}
    path = "focus[2].targets.rep" if where == "rep" else "focus[2].targets.reps.rep-ada"
    assert one(good) == (
        f"{path}: close_rate is an insight KPI: insight KPIs steer teams but never judge "
        "individual reps, so a per-rep target is not allowed; set an all or team target instead"
    )


def test_per_rep_insight_target_added_by_a_change(good):
    good["changes"][0]["add_focus"] = [{"kpi": "deal_velocity_days", "targets": {"rep": 20}}]
    assert one(good).startswith(
        "changes[0].add_focus[0].targets.rep: deal_velocity_days is an insight KPI"
    )


def test_unknown_kpi_lists_the_known_ones(good):
    good["focus"][1]["kpi"] = "activity_pionts"
    message = one(good)
    assert message.startswith(
        "focus[1].kpi: unknown KPI 'activity_pionts' (did you mean activity_points?); "
        "known: activities, "
    )
    for name in CATALOG:
        assert name in message


def test_kpi_without_quarter_to_date_value(good):
    good["focus"][1]["kpi"] = "new_business_growth_mom"
    assert one(good) == (
        "focus[1].kpi: new_business_growth_mom is reported at month grain only, so it has no "
        "quarter-to-date value to pace against a target; pick a KPI with a quarter grain "
        "(e.g. new_business_value)"
    )


def test_retention_rate_is_quarter_grain_and_allowed(good):
    good["focus"][2] = {"kpi": "retention_rate", "targets": {"all": 0.9}}
    good["changes"][0]["remove_focus"] = ["retention_rate"]
    assert parse_plan(good).focus[2].kpi == "retention_rate"


@pytest.mark.parametrize("day", [date(2027, 1, 4), date(2026, 9, 30)])
def test_change_dated_outside_its_quarter(good, day):
    good["changes"][1]["date"] = day
    assert one(good) == (
        f"changes[1].date: the change dated {day} is outside 2026-Q4 (2026-10-01 .. 2026-12-31); "
        "a new quarter gets its own plan file"
    )


def test_change_on_the_first_day_and_out_of_order(good):
    good["changes"][0]["date"] = date(2026, 10, 1)
    assert "a change on the quarter's first day (2026-10-01) is the plan itself" in one(good)
    good["changes"][0]["date"] = date(2026, 12, 2)
    assert one(good) == (
        "changes[1].date: changes must be in date order, one per day: 2026-12-01 comes after "
        "2026-12-02"
    )


def test_change_semantics_are_checked(good):
    good["changes"][1] = {"date": date(2026, 12, 1), "reason": "x", "remove_focus": ["close_rate"]}
    assert one(good) == (
        "changes[1].remove_focus[0]: close_rate is not a focus KPI on 2026-12-01 "
        "(focus: new_business_value, activity_points, qualified_leads)"
    )
    good["changes"][1] = {
        "date": date(2026, 12, 1),
        "reason": "x",
        "remove_focus": ["new_business_value"],
    }
    assert one(good) == (
        "changes[1]: after the change of 2026-12-01 there is no Master KPI; mark exactly one "
        "focus KPI with `master: true`"
    )
    good["changes"][1] = {
        "date": date(2026, 12, 1),
        "reason": "x",
        "targets": {"close_rate": {"team": 0.4}},
    }
    assert one(good) == (
        "changes[1].targets.close_rate: close_rate is not a focus KPI on 2026-12-01; add it with "
        "add_focus to give it targets"
    )
    good["changes"][1] = {"date": date(2026, 12, 1), "reason": "nothing"}
    assert "this change changes nothing" in one(good)


def test_target_values(good):
    good["focus"][0]["targets"]["team"] = 0
    good["focus"][2]["targets"]["team"] = 30
    assert problems(good) == [
        "focus[0].targets.team: a target must be a positive number, got 0",
        "focus[2].targets.team: close_rate is a ratio between 0 and 1; write 30% as 0.3",
    ]


def test_team_scope(good):
    good["scope"] = {"teams": ["team-north"]}
    good["focus"][0]["targets"]["teams"] = {"team-south": 1}
    assert one(good) == (
        "focus[0].targets.teams.team-south: team 'team-south' is outside the plan's scope "
        "(team-north); add it to scope.teams or drop the target"
    )


def test_shape_errors_name_fields(good):
    good["review"] = {"rhythm": "daily", "day": "fri"}
    good["focus"][0]["targets"]["rep"] = "lots"
    good["colour"] = "blue"
    del good["reward"]
    assert problems(good) == [
        "focus[0].targets.rep: must be a number, got 'lots'",
        "review.rhythm: Input should be 'weekly', 'biweekly' or 'monthly' (got 'daily')",
        "reward: missing; this field is required (see docs/plans.md)",
        "colour: unknown field 'colour'; the fields here are: quarter, scope, focus, review, "
        "reward, working_days, definition_version, changes",
    ]


def test_holidays_inside_the_quarter(good):
    good["working_days"]["holidays"].append(date(2027, 1, 1))
    assert one(good) == (
        "working_days.holidays[3]: holiday 2027-01-01 is outside 2026-Q4 (2026-10-01 .. 2026-12-31)"
    )


def test_file_errors_carry_file_and_line(write_plan):
    path = write_plan("""
        quarter: 2026-Q4
        focus:
          - kpi: won_deals
            master: true
            targets: {team: 10}
          - kpi: close_rate
            targets:
              rep: 0.4
        review: {rhythm: weekly, day: fri}
        reward: cake
    """)
    with pytest.raises(PlanError) as caught:
        load_plan(path)
    text = str(caught.value)
    assert text.splitlines()[0] == f"the plan {path} has 1 problem"
    assert f"{path}:8: focus[1].targets.rep: close_rate is an insight KPI" in text


def test_yaml_syntax_error_has_a_line():
    with pytest.raises(PlanError) as caught:
        parse_plan_text("quarter: 2026-Q4\nfocus: [\n", "p.yaml")
    assert caught.value.problems[0].message.startswith("not valid YAML")
    assert caught.value.problems[0].line is not None


def test_numeric_ids_are_strings(good):
    good["focus"][0]["targets"]["reps"] = {101: 5}
    assert parse_plan(good).focus[0].targets.reps == {"101": 5.0}


def test_plan_at_applies_changes_up_to_the_day(good):
    plan = parse_plan(good)
    start = plan.at(date(2026, 10, 15))
    assert start.valid_from == date(2026, 10, 1)
    assert [(f.kpi, f.master) for f in start.focus] == [
        ("new_business_value", True),
        ("activity_points", False),
        ("close_rate", False),
    ]
    assert start.focus[1].targets.rep == 1200 and start.definition_version is None
    november = plan.at(date(2026, 11, 2))
    assert november.valid_from == date(2026, 11, 2)
    assert [f.kpi for f in november.focus] == [
        "new_business_value",
        "activity_points",
        "qualified_leads",
    ]
    points = november.focus[1].targets
    assert (points.team, points.rep, points.reps) == (6000, 1400, {"rep-ben": 1000})
    assert plan.at(date(2026, 11, 30)) == november
    december = plan.at(date(2026, 12, 1))
    assert [(f.kpi, f.master) for f in december.focus] == [
        ("qualified_leads", True),
        ("new_business_value", False),
        ("activity_points", False),
    ]
    assert december.rank("activity_points") == 3 and december.definition_version == 2
    assert plan.at(date(2027, 2, 1)) == december  # after the quarter: the final plan
    assert plan.at(date(2026, 1, 1)).valid_from == date(2026, 10, 1)


def test_target_patch_null_removes(good):
    good["changes"][1]["targets"] = {"new_business_value": {"rep": None, "reps": {"rep-ada": None}}}
    plan = parse_plan(good)
    targets = plan.at(date(2026, 12, 1)).focus[1].targets
    assert (targets.all, targets.team, targets.rep, targets.reps) == (900000, 450000, None, {})


def test_canonical_json_round_trips(good):
    plan = parse_plan(good)
    again = parse_plan(yaml.safe_load(yaml.safe_dump(copy.deepcopy(good), sort_keys=True)))
    assert again.canonical_json() == plan.canonical_json()
    assert type(plan).model_validate_json(plan.canonical_json()) == plan


def test_example_plan_is_valid():
    from pathlib import Path

    from kpiflow.projections.catalog import custom_kpis
    from kpiflow.projections.definition_file import load_definition_file

    examples = Path(__file__).parents[3] / "examples"
    definition = load_definition_file(examples / "definitions" / "trade-show-q4.yaml")
    with custom_kpis({name: c.spec(name) for name, c in definition.kpis.items()}):
        plan = load_plan(examples / "plans" / "2026-Q4.yaml")  # uses a custom KPI
        assert plan.at(date(2026, 12, 1)).focus[-1].kpi == "list_followups"
        assert plan.at(date(2026, 12, 14)).master.kpi == "qualified_leads"
