"""Plans in ClickHouse (chdb): revisions, idempotent apply, injection as data, and the
kpi_pacing view giving the same numbers as the pure pacing function."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
import yaml

from kpiflow.projections.plans import Quarter, Roster, pace_plan, parse_plan
from kpiflow.projections.plans.pacing import named
from kpiflow.projections.plans.storage import (
    apply_plan,
    load_actuals,
    load_roster,
    stored_plan,
    weekly_history,
)
from kpiflow.projections.writer import KPI_ROW_COLUMNS

KPI_COLUMNS = KPI_ROW_COLUMNS


def put_values(store, rows, version=1):
    """rows: (kpi, grain, period_start, dimension_kind, dimension, value)."""
    store.insert("kpi_rows", [[version, *r, 1, 0] for r in rows], KPI_COLUMNS)


def go_live(store, version=1):
    store.insert("live_version", [["live", version, 1]], ["name", "version", "revision"])


def put_events(store, events):
    """events: (event_id, occurred_at 'YYYY-MM-DD hh:mm:ss', rep_id, team_id)."""
    store.insert(
        "raw_event_log",
        [[e, "activity.logged", at, rep, team] for e, at, rep, team in events],
        ["event_id", "event_type", "occurred_at", "rep_id", "team_id"],
    )


def test_apply_stores_revisions_and_is_idempotent(plan_store, good_plan_text):
    plan = parse_plan(yaml.safe_load(good_plan_text))
    first = apply_plan(plan_store, plan)
    assert (first.revision, first.unchanged, first.change_rows) == (1, False, 3)
    again = apply_plan(plan_store, plan)
    assert (again.revision, again.unchanged) == (1, True)
    assert (
        plan_store.rows("SELECT count() AS n FROM {db}.plan_targets")[0]["n"] == first.target_rows
    )

    edited = yaml.safe_load(good_plan_text)
    del edited["focus"][0]["targets"]["reps"]  # rep-ada's override goes
    second = apply_plan(plan_store, parse_plan(edited))
    assert (second.revision, second.unchanged) == (2, False)
    loaded, revision = stored_plan(plan_store, Quarter.parse("2026-Q4"))
    assert revision == 2 and loaded == parse_plan(edited)

    current = plan_store.rows(
        "SELECT DISTINCT plan_revision, dimension FROM {db}.plan_targets_current "
        "WHERE kpi = 'new_business_value'"
    )
    assert {r["plan_revision"] for r in current} == {2}
    assert "rep-ada" not in {r["dimension"] for r in current}
    assert apply_plan(plan_store, parse_plan(edited)).unchanged


def test_target_rows_hold_the_plan_in_effect_from_each_valid_from(plan_store, good_plan_text):
    apply_plan(plan_store, parse_plan(yaml.safe_load(good_plan_text)))
    rows = plan_store.rows(
        "SELECT toString(valid_from) AS valid_from, kpi, is_master, focus_rank, dimension_kind, "
        "dimension, target, definition_version FROM {db}.plan_targets_current "
        "ORDER BY valid_from, focus_rank, dimension_kind, dimension"
    )
    by_day: dict[str, set] = {}
    for r in rows:
        by_day.setdefault(r["valid_from"], set()).add((r["kpi"], r["is_master"], r["focus_rank"]))
    assert by_day == {
        "2026-10-01": {
            ("new_business_value", 1, 1),
            ("activity_points", 0, 2),
            ("close_rate", 0, 3),
        },
        "2026-11-02": {
            ("new_business_value", 1, 1),
            ("activity_points", 0, 2),
            ("qualified_leads", 0, 3),
        },
        "2026-12-01": {
            ("qualified_leads", 1, 1),
            ("new_business_value", 0, 2),
            ("activity_points", 0, 3),
        },
    }
    nbv = [
        (r["dimension_kind"], r["dimension"], r["target"])
        for r in rows
        if r["valid_from"] == "2026-10-01" and r["kpi"] == "new_business_value"
    ]
    assert nbv == [
        ("all", "all", 900000),
        ("rep", "", 90000),
        ("rep", "rep-ada", 120000),
        ("team", "", 450000),
    ]
    assert {r["definition_version"] for r in rows if r["valid_from"] == "2026-12-01"} == {2}
    changes = plan_store.rows(
        "SELECT toString(changed_on) AS day, kind, reason, body FROM {db}.plan_changes_current "
        "ORDER BY changed_on"
    )
    assert [(c["day"], c["kind"]) for c in changes] == [
        ("2026-10-01", "plan"),
        ("2026-11-02", "change"),
        ("2026-12-01", "change"),
    ]
    assert json.loads(changes[2]["body"]) == {
        "date": "2026-12-01",
        "reason": "leads are the bottleneck",
        "master": "qualified_leads",
        "definition_version": 2,
    }


EVIL_TEAM = "x'; DROP TABLE {db}.plan_targets; --"
EVIL_REP = "r\\'); DROP DATABASE {db}; SELECT ('"


def test_ids_from_a_plan_file_are_stored_as_data(plan_store, good_plan_text):
    data = yaml.safe_load(good_plan_text)
    data["scope"] = {"teams": [EVIL_TEAM, "team-north"]}
    data["focus"][0]["targets"]["teams"] = {EVIL_TEAM: 1000}
    data["focus"][0]["targets"]["reps"] = {EVIL_REP: 10}
    plan = parse_plan(data)
    apply_plan(plan_store, plan)
    stored = plan_store.rows(
        "SELECT dimension_kind, dimension, target, scope_teams FROM {db}.plan_targets_current "
        "WHERE valid_from = '2026-10-01' AND kpi = 'new_business_value' AND dimension != '' "
        "ORDER BY dimension_kind, dimension"
    )
    assert [(r["dimension_kind"], r["dimension"], r["target"]) for r in stored] == [
        ("all", "all", 900000),
        ("rep", EVIL_REP, 10),
        ("team", EVIL_TEAM, 1000),
    ]
    assert stored[0]["scope_teams"] == [EVIL_TEAM, "team-north"]
    # the tables are all still there, and the ids go through the read queries as bound values
    tables = {
        r["name"]
        for r in plan_store.rows(
            "SELECT name FROM system.tables WHERE database = {d:String}", {"d": plan_store.database}
        )
    }
    assert {"plan_targets", "plan_changes", "kpi_rows", "raw_event_log"} <= tables
    put_events(plan_store, [("e1", "2026-11-02 10:00:00", EVIL_REP, EVIL_TEAM)])
    roster = load_roster(plan_store, plan.period, [EVIL_REP])
    assert roster.rep_teams == {EVIL_REP: EVIL_TEAM}
    assert stored_plan(plan_store, plan.period)[0] == plan


def test_actuals_as_of_a_past_day(plan_store):
    go_live(plan_store)
    q = Quarter.parse("2026-Q4")
    put_values(
        plan_store,
        [
            ("won_deals", "quarter", q.start, "all", "all", 10.0),
            ("won_deals", "day", date(2026, 10, 5), "all", "all", 4.0),
            ("won_deals", "day", date(2026, 10, 6), "all", "all", 6.0),
            ("pipeline_value", "quarter", q.start, "rep", "ada", 500.0),
            ("pipeline_value", "day", date(2026, 10, 5), "all", "all", 900.0),
            ("pipeline_value", "day", date(2026, 10, 5), "rep", "ada", 700.0),
            ("pipeline_value", "day", date(2026, 10, 6), "all", "all", 800.0),
            ("pipeline_value", "day", date(2026, 10, 7), "all", "all", 500.0),
            ("close_rate", "quarter", q.start, "team", "north", 0.4),
        ],
    )
    put_values(plan_store, [("won_deals", "quarter", q.start, "all", "all", 99.0)], version=2)
    kpis = ["won_deals", "pipeline_value", "close_rate"]
    assert load_actuals(plan_store, q, kpis, date(2026, 11, 23), live=True) == {
        ("won_deals", "all", "all"): 10.0,
        ("pipeline_value", "rep", "ada"): 500.0,
        ("close_rate", "team", "north"): 0.4,
    }
    assert load_actuals(plan_store, q, kpis, date(2026, 10, 5), live=False) == {
        ("won_deals", "all", "all"): 4.0,  # the day rows up to and including 10-05
        ("pipeline_value", "all", "all"): 900.0,  # the end of 10-05
        ("pipeline_value", "rep", "ada"): 700.0,
        ("close_rate", "team", "north"): 0.4,  # insight: the quarter so far
    }
    # 10-06: ada owns no open deal at its end (no row), so she is not in the answer (= 0)
    assert load_actuals(plan_store, q, ["pipeline_value"], date(2026, 10, 6), live=False) == {
        ("pipeline_value", "all", "all"): 800.0,
    }


def test_weekly_history(plan_store):
    go_live(plan_store)
    put_values(
        plan_store,
        [
            ("won_deals", "week", date(2026, 9, 14), "team", "north", 3.0),
            ("won_deals", "week", date(2026, 9, 21), "rep", "ada", 2.0),
            ("won_deals", "week", date(2026, 9, 28), "rep", "ada", 9.0),  # outside the window
            ("won_deals", "day", date(2026, 9, 21), "rep", "ada", 2.0),
        ],
    )
    history = weekly_history(plan_store, ["won_deals"], [date(2026, 9, 14), date(2026, 9, 21)])
    assert history == {
        ("won_deals", "team", "north"): {date(2026, 9, 14): 3.0},
        ("won_deals", "rep", "ada"): {date(2026, 9, 21): 2.0},
    }


# ---------------------------------------------------------------- the view == the pure function


def _plan_for(today: date, scoped: bool) -> dict:
    """A plan for today's quarter: a change on or before today (when there is room), one after."""
    q = Quarter.of(today)
    data: dict = {
        "quarter": str(q),
        "focus": [
            {
                "kpi": "won_deals",
                "master": True,
                "targets": {
                    "all": 90,
                    "team": 30,
                    "rep": 9,
                    "reps": {"rep-edge": 1, "rep-new": 3},
                },
            },
            {
                "kpi": "deal_velocity_days",
                "targets": {
                    "all": 30,
                    "team": 25,
                    "teams": {"team-west" if scoped else "team-south": 40},
                },
            },
            {"kpi": "close_rate", "targets": {"team": 0.25}},
        ],
        "review": {"rhythm": "weekly", "day": "mon"},
        "reward": "cake",
        "working_days": {"holidays": [q.start + timedelta(days=20)]},
        "changes": [],
    }
    if scoped:
        data["scope"] = {"teams": ["team-north", "team-west"]}
    if today > q.start:
        data["changes"].append(
            {
                "date": max(q.start + timedelta(days=1), today - timedelta(days=3)),
                "reason": "swap an insight for activity",
                "remove_focus": ["close_rate"],
                "add_focus": [{"kpi": "activity_points", "targets": {"team": 600, "rep": 150}}],
            }
        )
    if today < q.end:
        data["changes"].append(
            {
                "date": today + timedelta(days=1),
                "reason": "not yet",
                "master": "deal_velocity_days",
            }
        )
    return data


@pytest.mark.parametrize("scoped", [False, True], ids=["every-team", "team-scope"])
def test_kpi_pacing_view_equals_the_pure_function(plan_store, scoped):
    today = date.fromisoformat(plan_store.rows("SELECT toString(today()) AS d")[0]["d"])
    q = Quarter.of(today)
    data = _plan_for(today, scoped)
    plan = parse_plan(data)
    effective = plan.at(today)
    total = len(effective.working_days)
    elapsed = sum(d < today for d in effective.working_days)
    # rep-edge's actual is exactly its expected value: on track with pace 1 (the boundary must
    # agree between SQL and Python)
    data["focus"][0]["targets"]["reps"]["rep-edge"] = float(total)
    plan = parse_plan(data)
    effective = plan.at(today)

    older = yaml.safe_load(yaml.safe_dump(data))
    older["focus"][0]["targets"]["reps"]["rep-gone"] = 5  # only in revision 1
    apply_plan(plan_store, parse_plan(older))
    apply_plan(plan_store, plan)
    previous = Quarter.of(q.start - timedelta(days=1))
    other = yaml.safe_load(yaml.safe_dump(data))
    other.update(quarter=str(previous), changes=[], working_days={})
    apply_plan(plan_store, parse_plan(other))  # another quarter's plan: not today's
    go_live(plan_store)

    values = {
        ("won_deals", "all", "all"): 40.0,
        ("won_deals", "team", "team-north"): 25.0,
        ("won_deals", "team", "team-south"): 15.0,
        ("won_deals", "team", "team-east"): 3.0,
        ("won_deals", "rep", "rep-ada"): 20.0,
        ("won_deals", "rep", "rep-ben"): 5.0,
        ("won_deals", "rep", "rep-edge"): float(total) * (elapsed / total),  # == expected
        ("won_deals", "rep", "rep-lost"): 2.0,  # no events: team unknown
        ("deal_velocity_days", "all", "all"): 28.5,
        ("deal_velocity_days", "team", "team-north"): 31.25,
        ("deal_velocity_days", "team", "team-south"): 0.0,
        ("close_rate", "team", "team-north"): 0.2,
        ("activity_points", "team", "team-north"): 333.0,
        ("activity_points", "rep", "rep-ada"): 160.0,
        ("activity_points", "rep", ""): 7.0,  # events without a rep: never a row
    }
    put_values(
        plan_store, [(k, "quarter", q.start, kind, dim, v) for (k, kind, dim), v in values.items()]
    )
    put_values(plan_store, [("won_deals", "quarter", q.start, "rep", "rep-v2", 50.0)], version=2)
    put_values(plan_store, [("won_deals", "quarter", previous.start, "rep", "rep-old", 1.0)])
    put_events(
        plan_store,
        [
            ("e1", "2026-01-01 09:00:00", "rep-ada", "team-south"),  # moved to north later
            ("e2", "2026-06-01 09:00:00", "rep-ada", "team-north"),
            ("e3", "2026-06-01 09:00:00", "rep-ben", "team-south"),
            ("e4", "2026-06-01 09:00:00", "rep-edge", "team-north"),
            ("e5", "2026-06-01 09:00:00", "rep-new", "team-west"),
            ("e6", "2026-06-01 09:00:00", "rep-old", "team-north"),
        ],
    )

    view = plan_store.rows("SELECT * FROM {db}.kpi_pacing")
    roster = Roster(
        frozenset({"team-north", "team-south", "team-east"}),
        {
            "rep-ada": "team-north",
            "rep-ben": "team-south",
            "rep-edge": "team-north",
            "rep-lost": "",
            "rep-new": "team-west",
        },
    )
    pure = pace_plan(effective, today, values, roster)
    assert pure, "the test plan must produce rows"

    def key(kpi, kind, dim):
        return (kpi, kind, dim)

    got = {key(r["kpi"], r["dimension_kind"], r["dimension"]): r for r in view}
    want = {key(r.kpi, r.dimension_kind, r.dimension): r for r in pure}
    assert sorted(got) == sorted(want)
    for k, w in want.items():
        g = got[k]
        assert g["quarter_start"] == q.start.isoformat()
        assert (g["is_master"], g["focus_rank"], g["on_track"], g["team"]) == (
            int(w.is_master),
            w.focus_rank,
            int(w.on_track),
            w.team,
        ), k
        assert (g["working_days_elapsed"], g["working_days_total"]) == (elapsed, total)
        for column, value in (
            ("target", w.target),
            ("actual_to_date", w.actual_to_date),
            ("expected_to_date", w.expected_to_date),
            ("pace_ratio", w.pace_ratio),
            ("projected_end", w.projected_end),
        ):
            assert g[column] == (None if value is None else pytest.approx(value, rel=1e-12)), (
                k,
                column,
            )
        assert g["plan_revision"] == 2 and g["valid_from"] == effective.valid_from.isoformat()
    assert got[key("won_deals", "rep", "rep-edge")]["on_track"] == 1
    assert "rep-gone" not in {k[2] for k in got} and "rep-v2" not in {k[2] for k in got}

    # and the loaders read the same inputs back from ClickHouse
    kpis = [f.kpi for f in effective.focus]
    assert load_actuals(plan_store, q, kpis, today, live=True) == {
        k: v for k, v in values.items() if k[0] in kpis
    }
    assert load_roster(plan_store, q, named(effective, "rep")) == Roster(
        roster.teams,
        {**roster.rep_teams, "rep-ada": "team-north"},
    )
    assert (
        pace_plan(
            effective,
            today,
            load_actuals(plan_store, q, kpis, today, True),
            load_roster(plan_store, q, named(effective, "rep")),
        )
        == pure
    )


class JsonTransport:
    """What `GatewayStore` does to a call on its way to the worker: JSON, dates as strings."""

    def __init__(self, store):
        self.store = store
        self.database = store.database

    @staticmethod
    def _wire(value):
        return json.loads(json.dumps(value, default=str))

    def rows(self, sql, params=None):
        return self.store.rows(sql, self._wire(params or {}))

    def command(self, sql, params=None):
        self.store.command(sql, self._wire(params or {}))

    def insert(self, table, rows, columns, token=None):
        self.store.insert(table, self._wire([list(r) for r in rows]), columns, token)


def test_apply_and_read_back_through_the_workers_json_transport(plan_store, good_plan_text):
    wire = JsonTransport(plan_store)
    plan = parse_plan(yaml.safe_load(good_plan_text))
    assert apply_plan(wire, plan).revision == 1
    assert apply_plan(wire, plan).unchanged
    assert stored_plan(wire, plan.period) == (plan, 1)
    go_live(plan_store)
    put_values(plan_store, [("won_deals", "day", date(2026, 10, 5), "rep", "ada", 2.0)])
    put_events(plan_store, [("e1", "2026-10-05 10:00:00", "ada", "north")])
    assert load_actuals(wire, plan.period, ["won_deals"], date(2026, 10, 6), live=False) == {
        ("won_deals", "rep", "ada"): 2.0,
    }
    assert load_roster(wire, plan.period, ["ada"]).rep_teams == {"ada": "north"}
