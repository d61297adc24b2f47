"""The pure per-batch decisions of the worker: accept, dead-letter, or drop as a duplicate."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from kpiflow.projections.rawlog import batch_token
from kpiflow.streams.coordinates import Coordinates
from kpiflow.streams.triage import Incoming, triage

T = "sales.events"


def msg(offset: int, partition: int = 0, **fields) -> Incoming:
    body = {
        "event_id": f"00000000-0000-4000-8000-{offset:012d}",
        "event_type": "deal.stage_changed",
        "schema_version": 1,
        "occurred_at": "2026-11-04T10:00:00Z",
        "source": "test",
        "rep_id": "rep-1",
        "team_id": "team-1",
        "deal_id": "deal-1",
        "from_stage": "proposal",
        "to_stage": "won",
    }
    body.update(fields)
    return Incoming(json.dumps(body).encode(), Coordinates(T, partition, offset))


def test_valid_invalid_and_ranges():
    batch = [
        msg(5),
        Incoming(b"{oops", Coordinates(T, 0, 6)),
        msg(7, partition=1, deal_id="deal-2"),
    ]
    out = triage(batch, "EUR", {})
    assert len(out.accepted) == 2 and len(out.rejected) == 1
    assert "malformed JSON" in out.rejected[0].reason and out.rejected[0].where.offset == 6
    assert out.ranges == {0: (5, 6), 1: (7, 7)}
    assert out.rejected_flags == [False, True, False]


def test_duplicate_within_batch_and_against_raw_log():
    first = msg(1)
    event_id = json.loads(first.value)["event_id"]
    again = Incoming(first.value, Coordinates(T, 0, 9))
    out = triage([first, again], "EUR", {})
    assert len(out.accepted) == 1 and out.duplicates == 1
    # the raw log already holds the copy from offset 1: offset 9 is a duplicate ...
    out = triage([again], "EUR", {}, existing={event_id: (T, 0, 1)})
    assert out.accepted == [] and out.duplicates == 1
    # ... but offset 1 itself is a retried batch: written again, deduplicated by ClickHouse
    out = triage([first], "EUR", {}, existing={event_id: (T, 0, 1)})
    assert len(out.accepted) == 1 and out.duplicates == 0


def test_stage_change_after_a_known_terminal_is_dead_lettered():
    won_at = datetime(2026, 11, 4, 10, tzinfo=UTC)
    late_move = msg(8, occurred_at="2026-11-05T09:00:00Z", from_stage="won", to_stage="negotiation")
    out = triage([late_move], "EUR", {"deal-1": (won_at, 0, 3)})
    assert out.accepted == [] and "terminal stage" in out.rejected[0].reason
    # earlier in event time than the win: valid (the engine orders by occurred_at)
    earlier = msg(9, occurred_at="2026-11-01T09:00:00Z", from_stage="meeting", to_stage="proposal")
    assert len(triage([earlier], "EUR", {"deal-1": (won_at, 0, 3)}).accepted) == 1


def test_terminal_learned_earlier_in_the_same_batch_counts():
    won = msg(1)
    after = msg(2, occurred_at="2026-11-06T09:00:00Z", from_stage="won", to_stage="lost")
    out = triage([won, after], "EUR", {})
    assert len(out.accepted) == 1 and len(out.rejected) == 1
    assert out.new_terminals["deal-1"][2] == 1


def test_replay_keeps_decisions_when_the_terminal_arrived_later():
    # The raw log learned the win at offset 10; a replayed message from offset 4 arrived before
    # it, so it was accepted then and must be accepted again.
    won_at = datetime(2026, 11, 4, 10, tzinfo=UTC)
    replayed = msg(4, occurred_at="2026-11-05T09:00:00Z", from_stage="proposal", to_stage="lost")
    assert len(triage([replayed], "EUR", {"deal-1": (won_at, 0, 10)}).accepted) == 1


def test_currency_is_checked():
    opened = msg(
        1,
        event_type="deal.opened",
        customer_id="c",
        deal_kind="upsell",
        product="p",
        amount="10",
        currency="USD",
        stage="prospect",
    )
    out = triage([opened], "EUR", {})
    assert "currency" in out.rejected[0].reason


def test_batch_token_is_stable_and_range_specific():
    assert batch_token(T, {1: (0, 9), 0: (5, 7)}) == batch_token(T, {0: (5, 7), 1: (0, 9)})
    assert batch_token(T, {0: (5, 7)}) != batch_token(T, {0: (5, 8)})


def test_id_prefix_matches_clickhouse(ch_store):
    from kpiflow.projections.rawlog import ID_PREFIX_SQL, id_prefix

    for event_id in (
        "6f1c2a8e-2b7e-4a52-9d55-1d1f0c3e9a10",
        "6F1C2A8E-2B7E-4A52-9D55-1D1F0C3E9A10",
        "00000000-0000-4000-8000-000000000001",
    ):
        sql = "SELECT " + ID_PREFIX_SQL.replace("event_id", "{e:String}") + " AS h"
        assert ch_store.scalar(sql, {"e": event_id}) == id_prefix(event_id)
