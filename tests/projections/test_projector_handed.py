"""Batches the ingest hands the projector are applied without reading them back, and give the
rows of a full rebuild: with dead letters in a batch's offsets, a batch handed twice (read again
after a rebalance), a batch never handed (the step reads the raw log instead), and the idle
looks that read the raw log between batches."""

from __future__ import annotations

import json
import zlib
from datetime import date

import pytest

import kpiflow.projections.projector as projector_module
from kpiflow.events import parse_event
from kpiflow.projections import rawlog
from kpiflow.projections.projector import Projector
from kpiflow.streams.simulator import OrgConfig, simulate_history
from tests.projections.test_rawlog_insert import Placed
from tests.projections.test_snapshots import TZ, coaching, rebuilt, stored

PARTITIONS = 3


def consumed() -> list[Placed | tuple[int, int]]:
    """A simulated quarter as the ingest consumes it: accepted events, and every 40th message a
    dead letter (its partition and offset only: the raw log never holds it)."""
    cfg = OrgConfig.for_target_events(
        3_000, teams=2, reps_per_team=3, start=date(2026, 9, 1), days=92
    )
    offsets = [0] * PARTITIONS
    out: list[Placed | tuple[int, int]] = []
    for i, event in enumerate(simulate_history(cfg)):
        text = json.dumps(event)
        parsed = parse_event(text)
        p = zlib.crc32(parsed.aggregate_key().encode()) % PARTITIONS
        if i % 40 == 39:
            out.append((p, offsets[p]))
        else:
            out.append(Placed(parsed, text, "sales.events", p, offsets[p]))
        offsets[p] += 1
    return out


def batches(messages, size: int):
    for start in range(0, len(messages), size):
        part = messages[start : start + size]
        ranges: dict[int, tuple[int, int]] = {}
        for m in part:
            p, o = (m.partition, m.offset) if isinstance(m, Placed) else m
            lo, hi = ranges.get(p, (o, o))
            ranges[p] = (min(lo, o), max(hi, o))
        yield [m for m in part if isinstance(m, Placed)], ranges


@pytest.fixture
def reads(monkeypatch) -> list[int]:
    """The rows of every tail read the projector makes."""
    made: list[int] = []
    real = projector_module.read_tail_table

    def counted(*args, **kwargs):
        table, tail = real(*args, **kwargs)
        made.append(table.num_rows)
        return table, tail

    monkeypatch.setattr(projector_module, "read_tail_table", counted)
    monkeypatch.setattr(projector_module, "READ_SECONDS", 3600.0)  # no read falls due here
    return made


def test_handed_batches_give_the_rows_of_a_full_rebuild(ch_store, reads):
    messages = consumed()
    third = len(messages) // 3
    first = [m for m in messages[:third] if isinstance(m, Placed)]
    rawlog.insert(ch_store, first, None)
    projector = Projector(ch_store, TZ)
    projector.sync_versions()
    while not projector.caught_up:
        projector.step()  # the build, then its first tail read
    reads.clear()
    applied = 0
    for n, (accepted, ranges) in enumerate(batches(messages[third:], 150)):
        if n % 4 == 2:
            applied += projector.step()  # an idle look between batches: finds nothing
        rows = rawlog.insert(ch_store, accepted, f"raw:test:{n}")
        handed = [rawlog.inserted(rows, ranges)]
        if n == 3:
            continue  # never handed (dropped while the projector was busy): the next step reads
        if n == 5:
            handed = handed * 2  # read again after a rebalance: inserted again as a no-op
        applied += projector.step(handed)
    assert applied == sum(isinstance(m, Placed) for m in messages[third:])
    # rows were read back twice: after batch 3 (never handed), and for the first batch when
    # the build's last message in a partition was a dead letter; every other batch was applied
    # as handed, and the idle looks found nothing
    assert len([r for r in reads if r]) <= 2
    assert len(reads) - len([r for r in reads if r]) == len(range(2, n + 1, 4))
    assert stored(ch_store) == pytest.approx(rebuilt(ch_store))
    # the position is the one a reader of the raw log reaches
    _, tail = rawlog.read_tail_table(ch_store, rawlog.Tail({}), 10**6)
    assert projector.states[1].watermark.offsets == tail.offsets
    facts = coaching(ch_store)
    ch_store.command("TRUNCATE TABLE {db}.engine_snapshots")  # a restart rebuilds it all
    fresh = Projector(ch_store, TZ)
    fresh.sync_versions()
    while not fresh.caught_up:
        fresh.step()
    assert coaching(ch_store) == facts


def test_a_batch_that_does_not_continue_where_the_version_stands_is_read(ch_store, reads):
    messages = consumed()[:600]
    projector = Projector(ch_store, TZ)
    projector.sync_versions()
    while not projector.caught_up:
        projector.step()  # an empty raw log: built at once
    (c, ranges_c), (a, _), (b, ranges_b) = list(batches(messages, 200))
    rows_c = rawlog.insert(ch_store, c, "raw:test:c")
    # the version never read rows yet: this batch is read back (and sets where it stands)
    assert projector.step([rawlog.inserted(rows_c, ranges_c)]) == len(c)
    rawlog.insert(ch_store, a, "raw:test:a")  # another worker's batch: never handed here
    rows_b = rawlog.insert(ch_store, b, "raw:test:b")
    reads.clear()
    assert projector.step([rawlog.inserted(rows_b, ranges_b)]) == len(a) + len(b)
    assert reads == [len(a) + len(b)]  # one read, of both batches
    assert stored(ch_store) == pytest.approx(rebuilt(ch_store))
