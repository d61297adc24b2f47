"""The raw-log insert (Arrow) stores exactly what the row-by-row insert stores, column by
column: instants to the microsecond from any offset, checklists with false criteria, amounts
as exact decimal text, absent optional fields as '', non-ASCII payloads."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from kpiflow.events import SalesEvent, parse_event
from kpiflow.projections import rawlog

BASE = {"schema_version": 1, "source": "crm", "rep_id": "rep-ä", "team_id": "team-1"}
EVENTS = [
    {
        **BASE,
        "event_id": "00000000-0000-4000-8000-000000000001",
        "event_type": "lead.qualification_assessed",
        "occurred_at": "2026-03-29T02:30:00.123456+02:00",
        "lead_id": "lead-1",
        "checklist": {"budget": True, "authority": False, "need": True},
    },
    {
        **BASE,
        "event_id": "00000000-0000-4000-8000-000000000002",
        "event_type": "activity.logged",
        "occurred_at": "2026-10-25T02:59:59.999999+01:00",
        "activity_type": "call",
        "direction": "outbound",
    },
    {
        **BASE,
        "event_id": "00000000-0000-4000-8000-000000000003",
        "event_type": "deal.opened",
        "occurred_at": "2026-01-01T00:00:00Z",
        "deal_id": "deal-1",
        "customer_id": "cust-1",
        "deal_kind": "new_business",
        "stage": "proposal",
        "product": "Widget – Pro",
        "amount": "12345.67",
        "currency": "EUR",
    },
]


@dataclass
class Placed:
    event: SalesEvent
    payload: str
    topic: str
    partition: int
    offset: int


def _stored(store, columns) -> list[tuple]:
    # instants as text to the microsecond in UTC, maps as sorted JSON: compared exactly
    select = [
        "formatDateTime(occurred_at, '%Y-%m-%d %H:%i:%S.%f', 'UTC') AS occurred_at"
        if c == "occurred_at"
        else "toJSONString(mapSort(checklist)) AS checklist"
        if c == "checklist"
        else c
        for c in columns
    ]
    # the column names are RAW_COLUMNS, the module's own constants
    sql = "SELECT " + ", ".join(select) + " FROM {db}.raw_event_log ORDER BY offset"  # noqa: S608
    return [tuple(r[c] for c in columns) for r in store.rows(sql)]


def test_the_arrow_insert_stores_what_the_row_insert_stores(ch_store):
    placed = []
    for i, e in enumerate(EVENTS):
        text = json.dumps(e, ensure_ascii=False)
        placed.append(Placed(parse_event(text, "EUR"), text, "sales.events", 3, 40 + i))
    expected_rows = [rawlog.row(p.event, p.payload, p.topic, p.partition, p.offset) for p in placed]
    ch_store.insert("raw_event_log", expected_rows, rawlog.RAW_COLUMNS)
    expected = _stored(ch_store, rawlog.RAW_COLUMNS)
    ch_store.command("TRUNCATE TABLE {db}.raw_event_log")

    rawlog.insert(ch_store, placed, "raw:test:3-40-42")
    assert _stored(ch_store, rawlog.RAW_COLUMNS) == expected
    assert len(expected) == len(EVENTS)
    first = dict(zip(rawlog.RAW_COLUMNS, expected[0], strict=True))
    assert first["occurred_at"] == "2026-03-29 00:30:00.123456"
    assert json.loads(first["checklist"]) == {"authority": False, "budget": True, "need": True}
    assert expected[2][rawlog.RAW_COLUMNS.index("amount")] == "12345.67"


def test_a_repeated_batch_with_its_token_is_stored_once(ch_store):
    text = json.dumps(EVENTS[1])
    placed = [Placed(parse_event(text, "EUR"), text, "sales.events", 0, 7)]
    rawlog.insert(ch_store, placed, "raw:test:0-7-7")
    rawlog.insert(ch_store, placed, "raw:test:0-7-7")  # a retried batch
    count = ch_store.rows("SELECT count() AS n FROM {db}.raw_event_log")[0]["n"]
    assert count == 1


def test_an_empty_batch_inserts_nothing(ch_store):
    rawlog.insert(ch_store, [], None)
    assert ch_store.rows("SELECT count() AS n FROM {db}.raw_event_log")[0]["n"] == 0


def _placed_quarter() -> list[Placed]:
    """A simulated quarter's every kind of event (first few hundred), spread over partitions in
    an order that is not (partition, offset): the read must sort them."""
    from datetime import date

    from kpiflow.streams.simulator import OrgConfig, simulate_history

    activities, others = [], []
    for e in simulate_history(OrgConfig(start=date(2026, 7, 1))):
        kind = activities if e["event_type"] == "activity.logged" else others
        if len(kind) < 400:
            kind.append(e)
    events = [e for pair in zip(activities, others, strict=True) for e in pair] + EVENTS
    placed, offsets = [], [0, 0, 0]
    for i, e in enumerate(events):
        partition = (i * 7) % 3
        text = json.dumps(e, ensure_ascii=False)
        placed.append(Placed(parse_event(text, "EUR"), text, "sales.events", partition, 0))
        placed[-1].offset = 100 + offsets[partition]
        offsets[partition] += 1
    return placed


@pytest.mark.parametrize("attributes", [True, False])
def test_the_read_of_inserted_rows_is_what_the_tail_reads_back(ch_store, attributes):
    placed = _placed_quarter()
    assert {p.event.event_type for p in placed} >= {
        "activity.logged",
        "lead.created",
        "lead.qualification_assessed",
        "deal.opened",
        "deal.stage_changed",
    }
    inserted = rawlog.insert(ch_store, placed, None)
    read, _ = rawlog.read_tail_table(ch_store, rawlog.Tail({}), 10_000, attributes)
    fed = rawlog.read_of_inserted(rawlog.inserted(inserted, {}).rows, attributes)
    names = [f.read_as for f in rawlog.RECORD_FIELDS] + ["partition"]
    assert fed.column_names == names
    assert fed.num_rows == read.num_rows == len(placed)
    for name in names:
        assert fed.column(name).to_pylist() == read.column(name).to_pylist(), name
    # and the engine's records of both are equal, field by field
    assert list(rawlog.records_from_arrow(fed)) == list(rawlog.records_from_arrow(read))
