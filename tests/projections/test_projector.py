"""The projector on the embedded ClickHouse: bulk build, tail, and self-healing after a crash."""

from __future__ import annotations

import json
from datetime import date
from zoneinfo import ZoneInfo

from kpiflow.events import parse_event
from kpiflow.projections.definitions import DEFAULT_DEFINITION
from kpiflow.projections.projector import Projector
from kpiflow.projections.rawlog import RAW_COLUMNS, row
from kpiflow.projections.writer import KPI_ROW_COLUMNS

UTC = ZoneInfo("UTC")


def assessed(n: int, when: str, lead: str = "lead-1") -> dict:
    return {
        "event_id": f"00000000-0000-4000-8000-{n:012d}",
        "event_type": "lead.qualification_assessed",
        "schema_version": 1,
        "occurred_at": when,
        "source": "t",
        "rep_id": "rep-1",
        "team_id": "team-1",
        "lead_id": lead,
        "checklist": {"budget": True, "authority": True, "need": True},
    }


def insert_raw(store, events: list[dict], first_offset: int = 0) -> None:
    rows = []
    for i, e in enumerate(events):
        text = json.dumps(e)
        rows.append(row(parse_event(text), text, "sales.events", 0, first_offset + i))
    store.insert("raw_event_log", rows, RAW_COLUMNS)


def weekly_qualified(store) -> dict[str, float]:
    rows = store.rows(
        "SELECT toString(period_start) AS p, value FROM {db}.kpi_values WHERE kpi = "
        "'qualified_leads' "
        "AND grain = 'week' AND dimension_kind = 'all'"
    )
    return {r["p"]: r["value"] for r in rows}


def run_until_idle(projector: Projector) -> None:
    projector.sync_versions()
    while projector.step():
        pass


def test_bulk_build_then_tail(ch_store):
    insert_raw(ch_store, [assessed(1, "2026-11-11T10:00:00Z")])
    projector = Projector(ch_store, UTC)
    run_until_idle(projector)
    assert weekly_qualified(ch_store) == {"2026-11-09": 1}
    # a late, earlier assessment moves the lead to an earlier week: upsert + tombstone
    insert_raw(ch_store, [assessed(2, "2026-11-03T10:00:00Z")], first_offset=1)
    run_until_idle(projector)
    assert weekly_qualified(ch_store) == {"2026-11-02": 1}


def test_rebuild_after_a_crash_removes_rows_the_raw_log_no_longer_produces(ch_store):
    insert_raw(ch_store, [assessed(1, "2026-11-11T10:00:00Z"), assessed(2, "2026-11-03T10:00:00Z")])
    # what a projector that crashed before seeing the second event had written
    ch_store.insert(
        "kpi_rows",
        [[1, "qualified_leads", "week", date(2026, 11, 9), "all", "all", 1.0, 1, 0]],
        KPI_ROW_COLUMNS,
    )
    ch_store.insert("live_version", [["live", 1, 1]], ["name", "version", "revision"])
    from kpiflow.projections.versions import set_status

    set_status(ch_store, DEFAULT_DEFINITION, "live")
    run_until_idle(Projector(ch_store, UTC))
    assert weekly_qualified(ch_store) == {"2026-11-02": 1}


def test_a_periodic_sync_reads_the_versions_once_and_parses_only_new_ones(ch_store, monkeypatch):
    from kpiflow.projections import versions

    projector = Projector(ch_store, UTC)
    projector.sync_versions()  # registers version 1 and starts it
    assert list(projector.states) == [1]
    reads, parsed = [], []
    real_list, real_load = versions.list_versions, versions.load_definition
    monkeypatch.setattr(versions, "list_versions", lambda s: reads.append(1) or real_list(s))
    monkeypatch.setattr(versions, "load_definition", lambda r: parsed.append(1) or real_load(r))
    projector.sync_versions()
    assert (len(reads), len(parsed)) == (1, 0)
    second = DEFAULT_DEFINITION.model_copy(update={"points": {"call": 5}})
    versions.register(ch_store, second)
    reads.clear()
    projector.sync_versions()
    assert sorted(projector.states) == [1, 2]
    assert len(parsed) == 1  # version 2 only


def test_caught_up_only_once_every_version_is_built_and_its_tail_read_to_the_end(
    ch_store, monkeypatch
):
    import kpiflow.projections.projector as projector_module

    insert_raw(ch_store, [assessed(1, "2026-11-11T10:00:00Z")])
    projector = Projector(ch_store, UTC)
    projector.sync_versions()
    projector.step()  # the bulk build of version 1 begins
    assert projector.caught_up is False  # not built yet: step again at once
    for _ in range(10):
        projector.step()
        if projector.caught_up:
            break
    assert projector.caught_up is True  # built, nothing new: the loop waits for a nudge
    assert projector.progress()[1]["built"] is True
    monkeypatch.setattr(projector_module, "TAIL_LIMIT", 2)
    insert_raw(ch_store, [assessed(n, "2026-11-11T11:00:00Z", f"lead-{n}") for n in (2, 3, 4)], 1)
    assert projector.step() == 2
    assert projector.caught_up is False  # the read stopped at its limit: step again at once
    assert projector.step() == 1
    assert projector.caught_up is True
