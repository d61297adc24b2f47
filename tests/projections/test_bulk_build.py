"""The bulk build (activities counted by ClickHouse) gives the rows of the per-record path.

The reference is `KpiEngine.apply` of every raw-log row in arrival order (what the engine did
before the bulk build, and what `kpiflow verify` still does); the raw log holds a simulated
quarter across a DST change plus the awkward cases: copies of an event_id in other partitions,
an activity sharing its id with a deal event, ids that are not canonical UUIDs.
"""

from __future__ import annotations

import json
from datetime import date
from zoneinfo import ZoneInfo

import pytest

from kpiflow.events import parse_event
from kpiflow.projections import bulk
from kpiflow.projections.definitions import DEFAULT_DEFINITION, Definition
from kpiflow.projections.engine import KpiEngine
from kpiflow.projections.projector import Projector
from kpiflow.projections.rawlog import RAW_COLUMNS, Tail, read_all_records, read_tail_table, row
from kpiflow.streams.simulator import OrgConfig, simulate_history

PARTITIONS = 3
CUSTOM = Definition.model_validate({
    "description": "custom activity and deal KPIs",
    "kpis": {
        "expo_meetings": {
            "kind": "result",
            "description": "meetings with leads of trade shows",
            "base": "activities",
            "where": {"activity_type": ["meeting", "intake"], "lead.channel": {"prefix": "t"}},
        },
        "crm_points": {
            "kind": "action",
            "description": "points of activities logged from the CRM",
            "base": "activity_points",
            "where": {"source": {"not": "dialer"}},
        },
    },
})  # fmt: skip


def quarter_rows() -> list[list]:
    """Raw-log rows of a simulated autumn (DST ends on 2026-10-25) with awkward copies."""
    cfg = OrgConfig.for_target_events(
        6_000, teams=2, reps_per_team=3, start=date(2026, 9, 1), days=92
    )
    offsets = [0] * PARTITIONS
    rows: list[list] = []
    for event in simulate_history(cfg):
        text = json.dumps(event)
        parsed = parse_event(text)
        p = hash(parsed.aggregate_key()) % PARTITIONS
        rows.append(row(parsed, text, "sales.events", p, offsets[p]))
        offsets[p] += 1
    activities = [r for r in rows if r[1] == "activity.logged"]
    deals = [r for r in rows if r[1] == "deal.opened"]
    assert len(activities) > 1_000 and deals

    def copy(source: list, partition: int, **changes) -> list:
        out = list(source)
        out[RAW_COLUMNS.index("partition")] = partition
        out[RAW_COLUMNS.index("offset")] = offsets[partition]
        offsets[partition] += 1
        for name, value in changes.items():
            out[RAW_COLUMNS.index(name)] = value
        return out

    extra = [
        copy(activities[10], 0, rep_id="someone-else"),  # a copy, another rep: first one wins
        copy(activities[11], 2),
        copy(activities[12], 1, event_type="activity.logged", team_id="team-x"),
        copy(deals[0], 0, event_type="activity.logged", activity_type="call", deal_id=""),
    ]
    for i, r in enumerate(activities[20:30]):  # ids in another form than the canonical one
        r[0] = r[0].upper() if i % 2 else f"crm-{i}"
    return rows + extra


@pytest.fixture
def raw_log(ch_store):
    ch_store.insert("raw_event_log", quarter_rows(), RAW_COLUMNS)
    return ch_store


def per_record(store, definition: Definition, tz: ZoneInfo) -> KpiEngine:
    engine = KpiEngine(definition, tz)
    engine.apply(read_all_records(store, attributes=bool(definition.kpis)))
    return engine


@pytest.mark.parametrize(
    "zone", ["Europe/Amsterdam", "Asia/Kathmandu", "Australia/Lord_Howe", "America/St_Johns"]
)
@pytest.mark.parametrize("definition", [DEFAULT_DEFINITION, CUSTOM], ids=["default", "custom"])
def test_bulk_build_equals_applying_every_row(raw_log, zone, definition):
    tz = ZoneInfo(zone)
    expected = per_record(raw_log, definition, tz)
    built = KpiEngine(definition, tz)
    end = bulk.build(raw_log, built, chunk=500)
    assert built.event_count == expected.event_count
    assert built.rows() == expected.rows()
    assert built.take_coaching() == expected.take_coaching()
    # every id of the raw log is known to the built engine (its ids come in several scans)
    ids = [r["event_id"] for r in raw_log.rows("SELECT DISTINCT event_id FROM {db}.raw_event_log")]
    assert not any(built.claim(ids))
    counts = raw_log.rows(
        "SELECT partition, max(offset) AS o FROM {db}.raw_event_log GROUP BY partition"
    )
    assert end.offsets == {int(r["partition"]): int(r["o"]) for r in counts}


def test_too_many_duplicates_fall_back_to_every_row_and_agree(raw_log, monkeypatch):
    monkeypatch.setattr(bulk, "MAX_DUPLICATES", 1)
    tz = ZoneInfo("Europe/Amsterdam")
    built = KpiEngine(CUSTOM, tz)
    bulk.build(raw_log, built, chunk=700)
    assert built.rows() == per_record(raw_log, CUSTOM, tz).rows()


def test_the_engine_after_a_bulk_build_ignores_later_copies_of_counted_activities(raw_log):
    tz = ZoneInfo("UTC")
    built = KpiEngine(DEFAULT_DEFINITION, tz)
    bulk.build(raw_log, built)
    before = built.rows()
    counted = per_record(raw_log, DEFAULT_DEFINITION, tz)
    again = list(read_all_records(raw_log, attributes=False))
    built.apply(again[:500])  # every one of them was counted already
    assert built.rows() == before == counted.rows()


def test_a_projector_build_then_its_tail_equals_the_per_record_engine(ch_store):
    tz = ZoneInfo("Europe/Amsterdam")
    # Without the copies that differ from their original: which copy is first differs between
    # arrival order (build, then tail) and a read of the whole log by (partition, offset).
    rows = quarter_rows()[:-4]
    cut = len(rows) * 4 // 5  # offsets grow along the list: the rest is each partition's tail
    ch_store.insert("raw_event_log", rows[:cut], RAW_COLUMNS)
    projector = Projector(ch_store, tz)
    projector.sync_versions()
    while projector.step():
        pass
    ch_store.insert("raw_event_log", rows[cut:], RAW_COLUMNS)
    while projector.step():
        pass
    stored = {
        (r["kpi"], r["grain"], r["p"], r["dimension_kind"], r["dimension"]): float(r["value"])
        for r in ch_store.rows(
            "SELECT kpi, grain, toString(period_start) AS p, dimension_kind, dimension, value "
            "FROM {db}.kpi_values_all_versions WHERE definition_version = 1"
        )
    }
    expected = {
        (r.kpi, r.grain, r.period_start.isoformat(), r.dimension_kind, r.dimension): float(r.value)
        for r in per_record(ch_store, DEFAULT_DEFINITION, tz).rows()
    }
    assert stored == pytest.approx(expected)


@pytest.mark.parametrize("zone", ["Europe/Amsterdam", "Asia/Kathmandu"])
@pytest.mark.parametrize("definition", [DEFAULT_DEFINITION, CUSTOM], ids=["default", "custom"])
@pytest.mark.parametrize("limit", [97, 5_000])
def test_the_live_tail_by_tables_equals_applying_every_row(raw_log, zone, definition, limit):
    """The projector's tail (`apply_table` of each read): activities counted per batch, the
    batches with a copy of an earlier id record by record."""
    tz = ZoneInfo(zone)
    live = KpiEngine(definition, tz)
    position = Tail({})
    while True:
        table, position = read_tail_table(raw_log, position, limit, bool(definition.kpis))
        if not table.num_rows:
            break
        assert bulk.apply_table(live, table) == table.num_rows
        live.take_changes()  # as the projector does after every batch
    expected = per_record(raw_log, definition, tz)
    assert live.event_count == expected.event_count
    assert live.rows() == expected.rows()
    facts = lambda engine: [(d, o.stays, o.close) for d, o in engine.take_coaching()]  # noqa: E731
    assert facts(live) == facts(expected)  # what the projector writes of each deal
