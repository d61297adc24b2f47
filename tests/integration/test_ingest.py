"""Issue 2 'done when': real Kafka, real worker processes, the embedded ClickHouse."""

from __future__ import annotations

import json
import random
import signal
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from kpiflow.streams.deadletter import (
    HEADER_OFFSET,
    HEADER_PARTITION,
    HEADER_REASON,
    HEADER_TOPIC,
    read_headers,
)
from kpiflow.streams.producer import EventPublisher, publish_lines

from .conftest import read_topic

pytestmark = pytest.mark.integration


def activity(i: int, rng: random.Random) -> dict:
    return {
        "event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "event_type": "activity.logged",
        "schema_version": 1,
        "occurred_at": (datetime(2026, 6, 1, 8, tzinfo=UTC) + timedelta(minutes=7 * i)).isoformat(),
        "source": "test",
        "rep_id": f"rep-{i % 7}",
        "team_id": f"team-{i % 3}",
        "activity_type": rng.choice(["call", "email", "meeting", "demo"]),
    }


def lines_with_duplicates(n: int, seed: int = 7) -> tuple[list[bytes], set[str]]:
    rng = random.Random(seed)
    events = [activity(i, rng) for i in range(n)]
    lines = [json.dumps(e).encode() for e in events]
    lines += [json.dumps(e).encode() for e in rng.sample(events, n // 5)]  # exact duplicates
    rng.shuffle(lines)
    return lines, {e["event_id"] for e in events}


def raw_ids(pipeline) -> list[str]:
    return [r["event_id"] for r in pipeline.gateway().rows("SELECT event_id FROM {db}.raw_events")]


def test_duplicates_and_shuffles_yield_exactly_the_unique_events(pipeline):
    worker = pipeline.start_worker()
    lines, unique = lines_with_duplicates(2000)
    summary = publish_lines(pipeline.settings(), lines)
    assert summary.published == len(lines) and summary.invalid_count == 0
    worker.wait_ready()
    pipeline.wait_caught_up(expected_raw=len(unique))
    ids = raw_ids(pipeline)
    assert len(ids) == len(unique)
    assert set(ids) == unique
    state = pipeline.state()
    assert state["ingest"]["duplicates"] == len(lines) - len(unique)


INVALID = [
    (b"{not json", "malformed JSON"),
    (b"\xff\xfe\xfa", "not UTF-8"),
    (b'{"event_type": "activity.logged"}', "event_id: is required"),
    (
        json.dumps({**activity(1, random.Random(1)), "schema_version": "1"}).encode(),
        "schema_version",
    ),
    (
        json.dumps(
            {**activity(2, random.Random(2)), "occurred_at": "2026-10-01T08:00:00"}
        ).encode(),
        "occurred_at",
    ),
]


def test_every_invalid_event_is_dead_lettered_with_its_reason_and_nothing_else(pipeline):
    s = pipeline.settings()
    worker = pipeline.start_worker()
    publisher = EventPublisher(s)
    rng = random.Random(3)
    valid = [activity(i, rng) for i in range(300)]
    for i, e in enumerate(valid):
        publisher.send_valid(e, e["rep_id"])
        if i % 60 == 0:
            raw, _ = INVALID[(i // 60) % len(INVALID)]
            publisher.send_raw(raw)  # the producer is bypassed: the worker must judge
    publisher.flush()
    sent_invalid = [INVALID[k % len(INVALID)] for k in range(5)]
    worker.wait_ready()
    pipeline.wait_caught_up(expected_raw=len(valid))
    dlq = read_topic(s, s.kafka.dlq_topic)
    assert len(dlq) == len(sent_invalid)
    got = sorted((m.value(), read_headers(m.headers())[HEADER_REASON]) for m in dlq)
    for (value, expected_reason), (dl_value, reason) in zip(sorted(sent_invalid), got, strict=True):
        assert dl_value == value  # unchanged
        assert expected_reason in reason
    for m in dlq:
        h = read_headers(m.headers())
        assert h[HEADER_TOPIC] == s.kafka.events_topic
        assert int(h[HEADER_PARTITION]) >= 0 and int(h[HEADER_OFFSET]) >= 0
    assert set(raw_ids(pipeline)) == {e["event_id"] for e in valid}


def test_sigkill_mid_run_loses_nothing_and_counts_nothing_twice(pipeline):
    lines, unique = lines_with_duplicates(30_000, seed=11)
    publish_lines(pipeline.settings(), lines)
    worker = pipeline.start_worker(KPIFLOW_BATCH_SIZE="500")
    worker.wait_ready()
    # kill while the raw log is partly written
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        n = pipeline.gateway().scalar("SELECT count() FROM {db}.raw_event_log")
        if n and n > 2000:
            break
        time.sleep(0.05)
    assert 0 < n < len(unique), f"could not catch the worker mid-run (raw rows {n})"
    worker.kill(signal.SIGKILL)
    second = pipeline.start_worker(KPIFLOW_BATCH_SIZE="500")
    second.wait_ready()
    pipeline.wait_caught_up(expected_raw=len(unique))
    ids = raw_ids(pipeline)
    assert len(ids) == len(unique) and set(ids) == unique
