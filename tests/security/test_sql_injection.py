"""SQL injection: report arguments are rejected or bound, never spliced into SQL; event fields
are stored and reported as data."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from kpiflow.commands.common import day_option
from kpiflow.errors import ConfigError
from kpiflow.projections import rawlog
from kpiflow.projections.definitions import DEFAULT_DEFINITION
from kpiflow.projections.engine import KpiEngine
from kpiflow.projections.rawlog import read_all_records
from kpiflow.projections.report import ReportQuery, build_query, fetch
from kpiflow.projections.sqlsafe import ident
from kpiflow.projections.writer import RevisionClock, write_changes
from kpiflow.streams.coordinates import Coordinates
from kpiflow.streams.triage import Incoming, triage

REPO = Path(__file__).resolve().parents[2]
DROP = "x'); DROP TABLE raw_event_log; --"
HOSTILE = [
    DROP,
    "activities' OR '1'='1",
    "activities; DROP TABLE kpiflow.kpi_rows",
    'activities") UNION SELECT * FROM system.users --',
    "{db}.raw_event_log",
    "activities\x00",
    "activities/* */",
]


@pytest.mark.parametrize("hostile", HOSTILE)
def test_report_rejects_hostile_kpi_grain_and_dimension(hostile):
    with pytest.raises(ConfigError):
        build_query(hostile, "week", "all", None, None)
    with pytest.raises(ConfigError):
        build_query("activities", hostile, "all", None, None)
    with pytest.raises(ConfigError):
        build_query("activities", "week", hostile, None, None)


@pytest.mark.parametrize(
    "hostile", ["2026-01-01' OR 1=1 --", "2026-01-01); DROP TABLE x", "today()"]
)
def test_report_rejects_dates_that_are_not_dates(hostile):
    with pytest.raises(ConfigError):
        day_option(hostile, "--from")


@pytest.mark.parametrize("hostile", HOSTILE)
def test_identifiers_are_checked_before_they_reach_sql(hostile, chdb_dsn):
    from kpiflow.projections.store import ClickHouseStore

    with pytest.raises(ConfigError):
        ident(hostile)
    with pytest.raises(ConfigError):
        ClickHouseStore(chdb_dsn, hostile)  # KPIFLOW_CLICKHOUSE_DATABASE


def test_report_values_are_bound_even_past_validation(ch_store):
    """If validation were bypassed, the values still travel as bound parameters."""
    hostile = ReportQuery((DROP, "activities' OR '1'='1"), "week' OR '1'='1", DROP)
    assert fetch(ch_store, hostile) == []
    assert (
        ch_store.scalar("SELECT count() FROM {db}.raw_event_log") == 0
    )  # the table is still there
    assert ch_store.scalar("EXISTS TABLE {db}.kpi_rows") == 1


def test_the_report_command_refuses_a_hostile_kpi_without_touching_the_database(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("KPIFLOW_")}
    env["KPIFLOW_DATA_DIR"] = str(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "kpiflow.cli", "report", DROP, "--by", "rep' OR 1=1 --"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert "unknown KPI" in done.stderr or "not" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "clickhouse").exists()  # refused before any connection


def hostile_events() -> list[dict]:
    base = {
        "schema_version": 1, "occurred_at": "2026-10-05T09:00:00+02:00", "source": DROP,
        "rep_id": DROP, "team_id": "team'); DROP DATABASE kpiflow; --",
    }  # fmt: skip
    checklist = {"budget": True, "authority": True, "need": True, DROP: True}
    return [
        {**base, "event_id": "6f1c2a8e-2b7e-4a52-9d55-1d1f0c3e9a10",
         "event_type": "activity.logged", "activity_type": "call"},
        {**base, "event_id": "6f1c2a8e-2b7e-4a52-9d55-1d1f0c3e9a11",
         "event_type": "lead.qualification_assessed", "lead_id": "lead'--", "checklist": checklist},
        {**base, "event_id": "6f1c2a8e-2b7e-4a52-9d55-1d1f0c3e9a12", "event_type": "deal.opened",
         "deal_id": "deal\\'); DROP TABLE kpi_rows; --", "customer_id": "c1",
         "deal_kind": "new_business", "product": "enterprise'; --", "amount": "100",
         "currency": "EUR", "stage": "prospect"},
    ]  # fmt: skip


def test_hostile_event_fields_are_stored_and_reported_as_data(ch_store):
    batch = [
        Incoming(json.dumps(e).encode(), Coordinates("t.events", 0, i))
        for i, e in enumerate(hostile_events())
    ]
    result = triage(batch, "EUR", {})
    assert not result.rejected  # valid events: ids are any non-blank strings
    rawlog.insert(ch_store, result.accepted)
    stored = ch_store.rows(
        "SELECT rep_id, deal_id, product, checklist FROM {db}.raw_events ORDER BY offset"
    )
    assert [r["rep_id"] for r in stored] == [DROP] * 3
    assert stored[2]["deal_id"] == "deal\\'); DROP TABLE kpi_rows; --"
    assert stored[2]["product"] == "enterprise'; --"
    assert stored[1]["checklist"][DROP] is True
    engine = KpiEngine(DEFAULT_DEFINITION, ZoneInfo("UTC"))
    engine.apply(read_all_records(ch_store))
    upserts, deletes = engine.take_changes()
    write_changes(ch_store, 1, upserts, deletes, RevisionClock())
    rows = fetch(
        ch_store, build_query("activities", "day", "rep", date(2026, 10, 5), None, version=1)
    )
    assert rows == [
        {
            "kpi": "activities",
            "grain": "day",
            "period_start": "2026-10-05",
            "dimension": DROP,
            "value": 1,
        }
    ]
    for table in ("raw_event_log", "kpi_rows"):
        assert ch_store.scalar(f"EXISTS TABLE {{db}}.{table}") == 1
