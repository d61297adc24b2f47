"""A flood of poison messages: under the cap all are dead-lettered with reasons; over the cap
(`KPIFLOW_POISON_CAP`) the worker stops with exit code 3 without acknowledging the batch, and
after the cap is raised and the worker restarted everything is processed and nothing is lost."""

from __future__ import annotations

import json
import random

import pytest

from kpiflow.streams.lag import consumer_lag
from tests.faults.helpers import (
    Workload,
    activity,
    assert_dlq_holds_exactly,
    dead_letters_by_source,
    differences,
    publish,
    run_verify,
    valid_workload,
)

pytestmark = [pytest.mark.fault, pytest.mark.integration]

EXIT_POISON = 3
OVERSIZED = 1_020_000  # over the contract's 1,000,000 bytes, under the broker's default 1 MiB
BIG_PRODUCER = {"message.max.bytes": 2_000_000}
REASONS = {
    "malformed": "malformed JSON",
    "not_utf8": "not UTF-8",
    "oversized": "more than the 1000000 allowed",
    "schema": "schema_version",
}


def poison(rng: random.Random, kind: str, i: int) -> bytes:
    if kind == "malformed":
        return b'{"event_id": "' + str(i).encode() + b'", "event_type": '
    if kind == "not_utf8":
        return b'{"event_id": "\xff\xfe' + str(i).encode() + b'"}'
    if kind == "oversized":
        event = activity(rng, i)
        event["padding"] = "x" * OVERSIZED
        return json.dumps(event).encode()
    return json.dumps({**activity(rng, i), "schema_version": "1"}).encode()  # schema-invalid


def flood(rng: random.Random, n: int, start: int = 0) -> list[bytes]:
    kinds = list(REASONS)
    return [poison(rng, kinds[(start + i) % len(kinds)], start + i) for i in range(n)]


def test_poison_flood_under_the_cap_is_dead_lettered_with_reasons(pipeline):
    rng = random.Random(1)
    work = valid_workload(rng, 300)
    for value in flood(rng, 120):
        work.add_invalid(value)
    work.messages += valid_workload(rng, 300, start=300).messages
    work.event_ids |= {json.loads(v)["event_id"] for v, _ in work.messages[-300:]}
    publish(pipeline.settings(), work, **BIG_PRODUCER)
    worker = pipeline.start_worker(KPIFLOW_POISON_CAP="500")
    worker.wait_ready()
    pipeline.wait_caught_up(expected_raw=len(work.event_ids))
    s = pipeline.settings()
    assert_dlq_holds_exactly(s, work)
    dlq, _ = dead_letters_by_source(s)
    by_value = {value: reason for value, reason in dlq.values()}
    for kind, expected in REASONS.items():
        sample = next(v for v in work.invalid if poison_kind(v) == kind)
        assert expected in by_value[sample], (kind, by_value[sample][:200])
    code, doc = run_verify(pipeline)
    assert code == 0, (differences(doc), doc)


def poison_kind(value: bytes) -> str:
    if len(value) > 1_000_000:
        return "oversized"
    try:
        text = value.decode()
    except UnicodeDecodeError:
        return "not_utf8"
    try:
        json.loads(text)
    except ValueError:
        return "malformed"
    return "schema"


def test_poison_flood_over_the_cap_stops_the_worker_unacknowledged_then_nothing_is_lost(pipeline):
    rng = random.Random(2)
    s = pipeline.settings()
    before = valid_workload(rng, 200)
    publish(s, before)
    worker = pipeline.start_worker(KPIFLOW_POISON_CAP="40")
    worker.wait_ready()
    pipeline.wait_caught_up(expected_raw=len(before.event_ids))
    poisoned = Workload()
    for value in flood(rng, 150):
        poisoned.add_invalid(value)
    publish(s, poisoned, **BIG_PRODUCER)
    assert worker.proc.wait(timeout=60) == EXIT_POISON, worker.tail()
    assert "KPIFLOW_POISON_CAP" in worker.tail(200)
    lag = sum(p.lag for p in consumer_lag(s))
    assert lag > 0  # the batch that crossed the cap was not acknowledged
    after = valid_workload(rng, 200, start=200)
    publish(s, after)
    restarted = pipeline.start_worker(KPIFLOW_POISON_CAP="1000")
    restarted.wait_ready()
    everything = Workload(
        messages=before.messages + poisoned.messages + after.messages,
        event_ids=before.event_ids | after.event_ids,
        invalid=poisoned.invalid,
    )
    pipeline.wait_caught_up(expected_raw=len(everything.event_ids))
    assert_dlq_holds_exactly(s, everything)
    code, doc = run_verify(pipeline)
    assert code == 0, (differences(doc), doc)
