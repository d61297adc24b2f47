"""Triage in a child process gives what triage on the event loop gives, batch after batch, and
the child never outlives its worker's pipe."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from kpiflow.projections.rawlog import arrow_rows
from kpiflow.streams.coordinates import Coordinates
from kpiflow.streams.triage import Incoming, drop_known, drop_known_rows, triage, triage_rows
from kpiflow.streams.triage_process import LocalTriage, TriageProcess, TriageProcessDied
from tests.streams.test_triage import T, msg


def activity(offset: int, partition: int = 0, event_id: str | None = None) -> Incoming:
    body = {
        "event_id": event_id or f"10000000-0000-4000-8000-{offset:012d}",
        "event_type": "activity.logged",
        "schema_version": 1,
        "occurred_at": "2026-11-04T10:00:00Z",
        "source": "test",
        "rep_id": "rep-1",
        "team_id": "team-1",
        "activity_type": "call",
        "direction": "outbound",
    }
    return Incoming(json.dumps(body).encode(), Coordinates(T, partition, offset), 1_796_000_000_000)


def batches() -> list[list[Incoming]]:
    """Valid, invalid, in-batch copies, and a deal that is won in the first batch and moved
    in the second (the terminal stage must be carried from batch to batch)."""
    first = [
        msg(1, deal_id="deal-1", to_stage="won", occurred_at="2026-11-04T10:00:00Z"),
        activity(2),
        Incoming(b"{oops", Coordinates(T, 0, 3)),
        activity(4, event_id="10000000-0000-4000-8000-000000000002"),  # a copy of offset 2
        Incoming(None, Coordinates(T, 1, 0)),
        activity(5, partition=1),
    ]
    second = [
        msg(
            6,
            deal_id="deal-1",
            from_stage="won",
            to_stage="proposal",
            occurred_at="2026-11-05T10:00:00Z",
        ),  # fmt: skip
        activity(7),
        msg(8, deal_id="deal-2", to_stage="lost"),
    ]
    return [first, second]


def summary(t) -> tuple:
    rows = t.rows.to_pylist() if t.rows is not None else []
    rejected = [(r.value, r.reason, r.where) for r in t.rejected]
    return rows, rejected, t.duplicates, t.ranges, t.rejected_flags


async def run_all(triager, work: list[list[Incoming]]) -> list[tuple]:
    await triager.load({})
    try:
        return [summary(await triager.triage(b)) for b in work]
    finally:
        triager.close()


def test_triage_rows_are_the_raw_log_rows_of_triage():
    batch = batches()[0]
    plain = triage(batch, "EUR", {})
    rows, new_terminals = triage_rows(batch, "EUR", {})
    assert rows.rows.equals(arrow_rows(plain.accepted))
    assert (rows.duplicates, rows.ranges, rows.rejected_flags) == (
        plain.duplicates,
        plain.ranges,
        plain.rejected_flags,
    )
    assert [r.reason for r in rows.rejected] == [r.reason for r in plain.rejected]
    assert new_terminals == plain.new_terminals and "deal-1" in new_terminals


def test_the_child_process_gives_what_the_event_loop_gives():
    work = batches()
    local = asyncio.run(run_all(LocalTriage("EUR", None), work))
    child = asyncio.run(run_all(TriageProcess("EUR", None), work))
    assert child == local
    # and what that is: the second batch's move of the won deal is dead-lettered
    _, rejected, _, _, flags = local[1]
    assert flags == [True, False, False]
    assert "already reached a terminal stage" in rejected[0][1]


def test_the_child_triages_without_loading_pandas():
    """pyarrow would import all of pandas on the first array it builds (about 40 MB)."""

    async def scenario() -> bool:
        child = TriageProcess("EUR", None)
        try:
            await child.load({})
            for batch in batches():
                assert (await child.triage(batch)).rows is not None
            with open(f"/proc/{child.pid}/maps") as maps:
                return "/pandas/" in maps.read()
        finally:
            child.close()

    assert asyncio.run(scenario()) is False


def test_drop_known_rows_is_drop_known():
    batch = batches()[0]
    kept_id = json.loads(batch[1].value)["event_id"]
    other_id = json.loads(batch[5].value)["event_id"]
    # offset 2's copy is this very message (a retried batch): kept; offset 5's is elsewhere
    existing = {kept_id: (T, 0, 2), other_id: (T, 0, 99)}
    rows, _ = triage_rows(batch, "EUR", {})
    dropped = drop_known_rows(rows, existing)
    plain = drop_known(triage(batch, "EUR", {}), existing)
    assert dropped.rows.equals(arrow_rows(plain.accepted))
    assert dropped.duplicates == plain.duplicates == 2
    assert drop_known_rows(rows, {}) is rows


def test_a_batch_of_nothing_valid_has_no_rows():
    triaged, _ = triage_rows([Incoming(b"[]", Coordinates(T, 0, 1))], "EUR", {})
    assert triaged.rows is None and triaged.accepted == 0 and triaged.event_ids == []


def test_a_dead_child_fails_the_batch_and_a_closed_pipe_ends_the_child():
    async def scenario() -> None:
        child = TriageProcess("EUR", None)
        await child.load({})
        child._proc.kill()
        child._proc.wait(10)
        with pytest.raises(TriageProcessDied, match="ended"):
            await child.triage(batches()[0])
        child.close()

        second = TriageProcess("EUR", None)
        await second.triage(batches()[1])
        second._conn.close()  # as when the worker is killed: the child sees the pipe close
        deadline = time.monotonic() + 10
        while second._proc.poll() is None and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert second._proc.returncode == 0
        second.close()

    asyncio.run(scenario())
