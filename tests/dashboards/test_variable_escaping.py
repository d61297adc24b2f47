"""Ids with characters that mean something to ClickHouse or Grafana cannot change a query.

Team and rep variables carry hex-encoded ids (`variable_value`); panels compare `hex(column)`.
Each test expands real dashboard SQL the way Grafana does (macros.expand) and runs it on the
embedded ClickHouse: a selection of one hostile id returns that id's rows and no other.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from kpiflow.dashboards.build import build_all
from kpiflow.dashboards.defaults import REPS, Options, variable_value
from kpiflow.dashboards.macros import QueryContext, expand
from kpiflow.dashboards.wallboard import wallboard_uid
from kpiflow.projections.rawlog import RAW_COLUMNS

HOSTILE = [
    "x\\') OR 1=1 --",  # the attack: a backslash before the quote
    "back\\slash",
    "it's",
    'double "quoted"',
    "dollar $team ${rep}",
    "{braces}",
    "new\nline",
    "trailing\\",
]


def _raw_rows(now, teams: list[str]) -> list[list[object]]:
    rows = []
    for n, team in enumerate(["plain", *teams]):
        row: dict[str, object] = {c: "" for c in RAW_COLUMNS}
        row.update(
            checklist={},
            event_id=str(uuid.UUID(int=10_000 + n)),
            event_type="activity.logged",
            schema_version=1,
            occurred_at=now - timedelta(hours=1),
            source="test",
            rep_id=f"rep of {team}",
            team_id=team,
            activity_type="call",
            direction="outbound",
            payload="{}",
            topic="sales.events",
            partition=0,
            offset=10_000 + n,
        )
        rows.append([row[c] for c in RAW_COLUMNS])
    return rows


@pytest.fixture
def hostile_db(panel_db):
    panel_db.store.insert("raw_event_log", _raw_rows(panel_db.facts["now"], HOSTILE), RAW_COLUMNS)
    return panel_db


def _context(db, **variables) -> QueryContext:
    now = db.facts["now"]
    return QueryContext(now - timedelta(days=1), now, variables={"tz": "UTC", **variables})


@pytest.mark.parametrize("team", HOSTILE)
def test_a_hostile_team_id_selects_exactly_its_own_rows(hostile_db, team):
    sql = expand(REPS.clean, _context(hostile_db, team=[variable_value(team)]))
    _, rows = hostile_db.run(sql)
    assert rows == [(variable_value(f"rep of {team}"), f"rep of {team}")]


def test_several_hostile_ids_at_once(hostile_db):
    sql = expand(REPS.clean, _context(hostile_db, team=[variable_value(t) for t in HOSTILE]))
    _, rows = hostile_db.run(sql)
    assert sorted(r[1] for r in rows) == sorted(f"rep of {t}" for t in HOSTILE)


def test_the_old_quoting_let_the_attack_through(hostile_db):
    """Negative control: Grafana's singlequote on the raw id (the scheme before) is injectable."""
    old = REPS.clean.replace("hex(team_id)", "team_id")
    sql = expand(old, _context(hostile_db, team=[HOSTILE[0]]))
    _, rows = hostile_db.run(sql)
    assert len({r[1] for r in rows}) > 1  # every team's reps, not the one selected


@pytest.mark.parametrize("team", ["x\\') OR 1=1 --", "new\nline"])
def test_every_panel_of_a_hostile_teams_wallboard_runs(hostile_db, team):
    (board,) = [b for b in build_all(Options(), [team]) if b.uid == wallboard_uid(team)]
    ctx = _context(hostile_db, team=[])  # the constant team variable is the board's own
    failures = []
    for query in board.queries:
        try:
            hostile_db.run(expand(query.sql, ctx))
        except Exception as exc:  # noqa: BLE001 (report them all)
            failures.append(f"{query.where}: {str(exc).splitlines()[0]}")
    assert not failures, failures
