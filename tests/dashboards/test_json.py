"""The generated JSON is a valid Grafana dashboard, checked offline (no Grafana server here):
the SDK's own model reads it back unchanged, and the structure Grafana relies on holds."""

from __future__ import annotations

import copy
import json
import re

import pytest
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import Dashboard

from kpiflow.dashboards.build import build_all
from kpiflow.dashboards.defaults import (
    DATASOURCE_TYPE,
    ClickHouseQuery,
    Options,
    register_query_variant,
)

OPTS = Options(datasource_uid="kpiflow-clickhouse", timezone="Europe/Amsterdam", currency="EUR")
BOARDS = {b.uid: b for b in build_all(OPTS, ["north", "south", "west's", "a" * 80])}
_UID = re.compile(r"^[a-zA-Z0-9_-]{1,40}$")


def _without_annotation_targets(board: dict) -> dict:
    board = copy.deepcopy(board)
    for annotation in board.get("annotations", {}).get("list", []):
        annotation.pop("target", None)
    return board


@pytest.mark.parametrize("uid", sorted(BOARDS))
def test_sdk_model_reads_the_json_back_unchanged(uid):
    """Dashboard.from_json -> to_json is the identity, except annotation targets: the SDK types
    them as the built-in Grafana target (limit/tags), so they are checked on their own."""
    register_query_variant()
    original = BOARDS[uid].json
    again = json.loads(json.dumps(Dashboard.from_json(original), cls=JSONEncoder))
    assert _without_annotation_targets(again) == _without_annotation_targets(original)
    for annotation in original["annotations"]["list"]:
        if "target" in annotation:
            target = annotation["target"]
            assert (
                json.loads(json.dumps(ClickHouseQuery.from_json(target), cls=JSONEncoder)) == target
            )


@pytest.mark.parametrize("uid", sorted(BOARDS))
def test_structure(uid):
    board = BOARDS[uid].json
    coaching = BOARDS[uid].folder == "kpiflow-coaching"
    source = "kpiflow-clickhouse-coaching" if coaching else "kpiflow-clickhouse"
    assert board["schemaVersion"] == 41
    assert board["uid"] == uid and _UID.match(uid)
    assert "id" not in board or board["id"] is None  # provisioning assigns ids
    assert board["timezone"] == "Europe/Amsterdam"
    if coaching:
        # apart from the shared boards: not tagged kpiflow, so their link menu never lists it
        assert board["tags"] == ["kpiflow-coaching"] and board["links"] == []
    else:
        assert "kpiflow" in board["tags"]
        assert board["links"] and board["links"][0]["type"] == "dashboards"

    panels = board["panels"]
    ids = [p["id"] for p in panels]
    assert ids == list(range(1, len(panels) + 1)), "panel ids are unique and stable"
    cells: set[tuple[int, int]] = set()
    for panel in panels:
        pos = panel["gridPos"]
        assert set(pos) >= {"h", "w", "x", "y"}
        assert pos["w"] > 0 and pos["h"] > 0 and pos["x"] >= 0 and pos["x"] + pos["w"] <= 24, panel[
            "title"
        ]
        mine = {
            (x, y)
            for x in range(pos["x"], pos["x"] + pos["w"])
            for y in range(pos["y"], pos["y"] + pos["h"])
        }
        assert not mine & cells, f"{panel['title']} overlaps another panel"
        cells |= mine
        assert panel["datasource"] == {"type": DATASOURCE_TYPE, "uid": "${datasource}"}
        assert panel["title"] and panel["description"]
        assert len(panel["targets"]) == 1
        target = panel["targets"][0]
        assert target["datasource"] == panel["datasource"]
        assert target["editorType"] == "sql" and target["refId"] == "A" and target["rawSql"].strip()
        assert (target["format"], target["queryType"]) in {(0, "timeseries"), (1, "table")}

    for annotation in board["annotations"]["list"]:
        if annotation.get("builtIn") == 1:
            continue
        assert annotation["datasource"]["uid"] == "${datasource}"
        assert annotation["target"]["rawSql"] and annotation["target"]["refId"]
    # the data source variable: provisioned, the configured uid; imported in the UI, a pick
    (variable,) = [v for v in board["templating"]["list"] if v["name"] == "datasource"]
    assert variable["type"] == "datasource" and variable["query"] == DATASOURCE_TYPE
    assert variable["current"]["value"] == source


@pytest.mark.parametrize("uid", sorted(BOARDS))
def test_every_variable_used_in_sql_is_defined(uid):
    board = BOARDS[uid]
    defined = {v["name"] for v in board.json["templating"]["list"]}
    for query in board.queries:
        used = set(re.findall(r"\$\{(\w+)(?::\w+)?\}", query.sql))
        assert used <= defined, f"{query.where} uses {used - defined}"
        assert not re.search(r"\$\{\w+\}", query.sql), f"{query.where}: a variable without a format"


def test_the_dashboards():
    titles = {b.json["title"] for b in BOARDS.values()}
    assert {
        "Sales activity",
        "Pipeline and velocity",
        "Growth and customers",
        "KPI Flow wallboard",
    } <= titles
    assert {
        "KPI Flow wallboard: north",
        "KPI Flow wallboard: south",
        "KPI Flow wallboard: west's",
    } <= titles


def test_wallboards_are_for_a_tv():
    walls = [b for b in BOARDS.values() if "wallboard" in b.json["tags"]]
    assert len(walls) == 5  # 4 teams + the team picker
    for wall in walls:
        seconds = int(wall.json["refresh"].rstrip("s"))
        assert 5 <= seconds <= 10
        kinds = [p["type"] for p in wall.json["panels"]]
        assert kinds.count("bargauge") >= 1, "a leaderboard"
        sql = " ".join(q.sql for q in wall.queries)
        assert "is_master = 1" in sql and "kpi_pacing" in sql and "raw_event_log" in sql
        team = next(v for v in wall.json["templating"]["list"] if v["name"] == "team")
        if wall.uid != "kpiflow-wallboard":
            assert team["type"] == "constant" and team["hide"] == 2
    assert len({w.uid for w in walls}) == len(walls)


def test_analysis_dashboards_have_team_rep_and_time_range():
    for uid in ("kpiflow-activity", "kpiflow-pipeline"):
        names = {v["name"] for v in BOARDS[uid].json["templating"]["list"]}
        assert {"team", "rep", "grain"} <= names
    assert "team" in {v["name"] for v in BOARDS["kpiflow-growth"].json["templating"]["list"]}
    for board in BOARDS.values():
        assert board.json["time"]["to"] == "now"
        names = [a["name"] for a in board.json["annotations"]["list"]]
        shared = ["Annotations & Alerts", "Plan changes", "Definition promotions"]
        # wallboards also mark each Master KPI target reached (docs/plans.md)
        extra = ["Master KPI reached"] if "wallboard" in board.json["tags"] else []
        assert names == shared + extra


def test_datasource_uid_comes_from_the_options():
    other = build_all(Options(datasource_uid="my-ch"), [])
    for board in other:
        text = json.dumps(board.json)
        assert "kpiflow-clickhouse" not in text
        (variable,) = [v for v in board.json["templating"]["list"] if v["name"] == "datasource"]
        assert variable["current"]["value"] in ("my-ch", "my-ch-coaching")


def test_currency_unit():
    assert Options(currency="EUR").money_unit == "currencyEUR"
    assert Options(currency="XOF").money_unit == "suffix: XOF"


@pytest.mark.parametrize("uid", sorted(BOARDS))
def test_every_stat_and_gauge_has_a_unit(uid):
    for panel in BOARDS[uid].json["panels"]:
        if panel["type"] in ("stat", "gauge", "bargauge"):
            unit = panel.get("fieldConfig", {}).get("defaults", {}).get("unit")
            assert unit, f"{uid}: {panel['title']} has no unit"


@pytest.mark.parametrize("uid", sorted(u for u in BOARDS if BOARDS[u].json["refresh"] == "10s"))
def test_the_10s_wallboards_never_read_the_whole_raw_log(uid):
    """Every 10 s: projections, or a time range of raw_event_log (occurred_at index), never the
    raw_events view (FINAL over every event)."""
    for query in BOARDS[uid].queries:
        assert not re.search(r"\bFROM\s+raw_events\b", query.sql), query.where
        if "raw_event_log" in query.sql:
            assert "occurred_at >=" in query.sql or "$__timeFilter(occurred_at)" in query.sql


def test_the_raw_log_has_an_occurred_at_index(ch_store):
    names = {
        r["name"]
        for r in ch_store.rows(
            "SELECT name FROM system.data_skipping_indices WHERE database = {d:String} "
            "AND table = 'raw_event_log'",
            {"d": ch_store.database},
        )
    }
    assert {"raw_occurred_at", "raw_ingested_at"} <= names
