"""Every SQL statement of every dashboard (panels, variables, annotations) and of the alert rule
runs on the embedded ClickHouse after the Grafana expansion, and returns the columns its panel
reads, with rows, on the test data set."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import pytest

from kpiflow.dashboards.build import build_all
from kpiflow.dashboards.defaults import Board, Options, variable_value
from kpiflow.dashboards.macros import QueryContext, expand
from kpiflow.dashboards.provision import MASTER_BEHIND, MASTER_REACHED
from tests.dashboards.dataset import TEAMS

BOARDS: dict[str, Board] = {b.uid: b for b in build_all(Options(), sorted(TEAMS))}

_RELATIVE = re.compile(r"^now-(\d+)([mhdwy])$")
_UNIT = {
    "m": timedelta(minutes=1),
    "h": timedelta(hours=1),
    "d": timedelta(days=1),
    "w": timedelta(weeks=1),
    "y": timedelta(days=365),
}


def _variable(board: Board, name: str) -> dict[str, Any] | None:
    for variable in board.json.get("templating", {}).get("list", []):
        if variable["name"] == name:
            return variable
    return None


def grains(board: Board) -> list[str | None]:
    variable = _variable(board, "grain")
    return [o["value"] for o in variable["options"]] if variable else [None]


def context(board: Board, facts: dict[str, Any], grain: str | None, tz: str) -> QueryContext:
    """What Grafana would send with the dashboard's default time range and 'All' selected."""
    match = _RELATIVE.match(board.json["time"]["from"])
    assert match, board.json["time"]
    now: datetime = facts["now"]
    start = now - int(match[1]) * _UNIT[match[2]]
    interval = max(
        timedelta(seconds=int((now - start).total_seconds() / 1000)), timedelta(seconds=1)
    )
    team = _variable(board, "team")
    if team is None:  # the coaching board: the team is the rep's, found in SQL
        teams: list[str] = []
    elif team["type"] == "constant":
        teams = [team["query"]]  # already the variable's value
    elif team.get("multi"):
        teams = [variable_value(t) for t in facts["teams"]]
    else:
        teams = [variable_value(facts["teams"][0])]
    rep = _variable(board, "rep")
    if rep is not None and not rep.get("multi"):  # one rep at a time (coaching)
        reps: list[str] = [variable_value(facts["reps"][0])]
    else:
        reps = [variable_value(r) for r in facts["reps"]]
    variables: dict[str, Any] = {"team": teams, "rep": reps, "tz": tz}
    if grain is not None:
        variables["grain"] = grain
    return QueryContext(time_from=start, time_to=now, interval=interval, variables=variables)


@pytest.mark.parametrize("tz", ["UTC", "Europe/Amsterdam"])
@pytest.mark.parametrize("uid", sorted(BOARDS))
def test_every_query_runs_and_returns_its_columns(panel_db, uid, tz):
    board = BOARDS[uid]
    assert board.queries, f"{uid} has no SQL"
    failures = []
    for grain in grains(board):
        ctx = context(board, panel_db.facts, grain, tz)
        for query in board.queries:
            where = f"{query.where} (grain={grain}, tz={tz})"
            sql = expand(query.sql, ctx)
            try:
                columns, rows = panel_db.run(sql)
            except Exception as exc:  # noqa: BLE001 (collect every failure, report them all)
                failures.append(f"{where}: {str(exc).splitlines()[0]}\n{sql}")
                continue
            if columns != list(query.columns):
                failures.append(
                    f"{where}: columns {columns}, the panel reads {list(query.columns)}"
                )
            if not rows:
                failures.append(f"{where}: no rows on the populated data set\n{sql}")
    assert not failures, "\n\n".join(failures)


def test_team_variable_lists_the_teams(panel_db):
    board = BOARDS["kpiflow-activity"]
    query = next(q for q in board.queries if q.where == "variable team")
    _, rows = panel_db.run(expand(query.sql, context(board, panel_db.facts, "week", "UTC")))
    assert [r[1] for r in rows] == sorted(TEAMS)  # the text; the value is its hex
    assert [r[0] for r in rows] == [variable_value(t) for t in sorted(TEAMS)]


def test_quote_in_a_team_id_matches(panel_db):
    """A team id with a quote: its wallboard selects it (the variable's value is its hex)."""
    board = next(b for b in BOARDS.values() if b.title.endswith("west's"))
    query = next(q for q in board.queries if q.where.endswith("Recent activity"))
    _, rows = panel_db.run(expand(query.sql, context(board, panel_db.facts, None, "UTC")))
    assert rows and {r[1] for r in rows} == {"w'1"}


def test_wallboard_master_kpi_prefers_the_team_row(panel_db):
    north = next(b for b in BOARDS.values() if b.title.endswith(": north"))
    query = next(q for q in north.queries if q.where.endswith(": Master KPI"))
    _, rows = panel_db.run(expand(query.sql, context(north, panel_db.facts, None, "UTC")))
    assert rows == [("won_value",)]
    on_track = next(q for q in north.queries if q.where.endswith("On track?"))
    _, rows = panel_db.run(expand(on_track.sql, context(north, panel_db.facts, None, "UTC")))
    assert rows == [(1,)]  # north's own target (10) is reached


def test_alert_rule_query_lists_master_rows_behind_pace(panel_db):
    columns, rows = panel_db.run(MASTER_BEHIND.clean)
    assert columns == list(MASTER_BEHIND.columns)
    elapsed = panel_db.run("SELECT max(working_days_elapsed) FROM kpi_pacing")[1][0][0]
    if elapsed == 0:
        pytest.skip("first working day of the quarter: nothing can be behind yet")
    # the default team target is out of reach: south and west's are behind, north is not
    assert {(r[0], r[1], r[2]) for r in rows} == {
        ("won_value", "team", "south"),
        ("won_value", "team", "west's"),
    }
    assert all(r[3] >= 1 for r in rows)


def test_reached_alert_and_the_celebration_rows(panel_db):
    """The data set's plan (won_value, organisation 1000, north 10) is reached by the
    organisation and north: one achievement each, the alert lists both, north's wallboard
    banner names north's or the organisation's latest, south's only the organisation's."""
    columns, rows = panel_db.run(MASTER_REACHED.clean)
    assert columns == list(MASTER_REACHED.columns)
    assert {(r[0], r[1], r[2], r[3]) for r in rows} == {
        ("won_value", "all", "all", "Team dinner"),
        ("won_value", "team", "north", "Team dinner"),
    }
    south = next(b for b in BOARDS.values() if b.title.endswith(": south"))
    banner = next(q for q in south.queries if q.where.endswith(": Celebration"))
    _, found = panel_db.run(expand(banner.sql, context(south, panel_db.facts, None, "UTC")))
    assert found and "the organisation" in found[0][0] and "reward: Team dinner" in found[0][0]
    north = next(b for b in BOARDS.values() if b.title.endswith(": north"))
    note = next(q for q in north.queries if q.where == "annotation Master KPI reached")
    _, marks = panel_db.run(expand(note.sql, context(north, panel_db.facts, None, "UTC")))
    assert sorted("team north" in m[1] for m in marks) == [False, True]
