"""No single message can stop or freeze the pipeline: the Limits of events.md on real processes.

Before the Limits, each of these inputs made the worker exit at every restart (or retry forever,
or freeze every projection), blocking the valid events behind it. Now each is dead-lettered with
a reason naming the limit, the valid events around it are stored, the worker keeps running and
`kpiflow verify` exits 0.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
import uuid

import pytest

from kpiflow.streams.lag import consumer_lag
from tests.faults.helpers import (
    activity,
    dead_letters_by_source,
    differences,
    publish,
    run_verify,
    valid_workload,
)

pytestmark = [pytest.mark.fault, pytest.mark.integration]

BIG_PRODUCER = {"message.max.bytes": 8_000_000}


def _deal_opened(rng: random.Random, i: int, amount: str) -> dict:
    base = activity(rng, i)
    del base["activity_type"]
    return {
        **base,
        "event_type": "deal.opened",
        "deal_id": f"deal-{i}",
        "customer_id": f"cust-{i}",
        "deal_kind": "new_business",
        "product": "p",
        "amount": amount,
        "currency": "EUR",
        "stage": "prospect",
    }


def poison(rng: random.Random) -> dict[str, tuple[bytes, str]]:
    """name -> (message value, a phrase its dead-letter reason holds)."""

    def event(i: int, **changes) -> bytes:
        return json.dumps({**activity(rng, i), **changes}).encode()

    nested = "[" * 10_000 + "]" * 10_000
    plain_id = uuid.UUID(int=rng.getrandbits(128), version=4)
    return {
        "nested 10,000 deep": (
            event(1, extra="__N__").replace(b'"__N__"', nested.encode()),
            "nests more than 64",
        ),
        "5,000-digit integer": (
            event(2, extra="__N__").replace(b'"__N__"', b"9" * 5000),
            "5000 digits",
        ),
        "year 9999 with an offset": (
            event(3, occurred_at="9999-12-31T23:00:00-05:00"),
            "more than 7 days after",
        ),
        "year 1 with an offset": (event(4, occurred_at="0001-01-01T01:00:00+05:00"), "before 2000"),
        "dated 1969": (event(5, occurred_at="1969-07-20T20:17:00Z"), "before 2000"),
        "dated 2200": (event(6, occurred_at="2200-01-01T00:00:00Z"), "more than 7 days after"),
        "amount of 400 nines": (
            json.dumps(_deal_opened(rng, 7, "9" * 400)).encode(),
            "400 digits before the decimal point",
        ),
        "lone surrogate in rep_id": (event(8, rep_id="\ud800"), "lone surrogate"),
        "NUL in team_id": (event(9, team_id="team\u0000x"), "NUL"),
        "uuid.hex": (event(10, event_id=plain_id.hex), "8-4-4-4-12"),
        "{uuid}": (event(11, event_id="{" + str(plain_id) + "}"), "8-4-4-4-12"),
        "urn:uuid:": (event(12, event_id=plain_id.urn), "8-4-4-4-12"),
        "1,048,400 bytes": (event(13, padding="x" * 1_048_000), "more than the 1000000 allowed"),
        "5 MB, lz4-compressed": (event(14, padding="y" * 5_000_000), "more than the 1000000"),
    }


def test_no_single_message_stops_or_freezes_the_pipeline(pipeline):
    rng = random.Random(15)
    s = pipeline.settings()
    bad = poison(rng)
    work = valid_workload(rng, 100)
    for n, (value, _) in enumerate(bad.values()):
        work.add_invalid(value)
        work.messages += valid_workload(rng, 20, start=1000 + 20 * n).messages
    work.event_ids = {json.loads(v)["event_id"] for v, _ in work.messages if v not in work.invalid}
    # the same event twice, its id once in upper case: one event, the second copy a duplicate
    twin = dict(activity(rng, 3000))
    work.add_valid(twin)
    work.messages.append(
        (json.dumps({**twin, "event_id": twin["event_id"].upper()}).encode(), None)
    )
    publish(s, work, **BIG_PRODUCER, **{"compression.type": "lz4"})

    worker = pipeline.start_worker()
    worker.wait_ready()
    pipeline.wait_caught_up(expected_raw=len(work.event_ids))
    assert worker.proc.poll() is None, worker.tail()  # still running

    dlq, _ = dead_letters_by_source(s)
    by_value = {value: reason for value, reason in dlq.values()}
    assert len(dlq) == len(bad), sorted(by_value.values())
    for name, (value, phrase) in bad.items():
        assert value in by_value, f"{name}: not dead-lettered"
        assert phrase in by_value[value], (name, by_value[value])
    code, doc = run_verify(pipeline)
    assert code == 0, (differences(doc), doc)
    assert doc["stats"]["raw_event_ids"] == len(work.event_ids), doc["stats"]
    assert doc["stats"]["duplicate_messages"] == 1, doc["stats"]
    assert worker.proc.poll() is None, worker.tail()


def test_a_normal_stop_never_acknowledges_an_unfinished_batch(pipeline):
    """SIGTERM while a batch cannot be written (ClickHouse fails, retries in progress)."""
    s = pipeline.settings()
    rng = random.Random(16)
    before = valid_workload(rng, 200)
    publish(s, before)
    worker = pipeline.start_worker()
    worker.wait_ready()
    pipeline.wait_caught_up(expected_raw=len(before.event_ids))
    worker.stop()

    stuck = pipeline.start_worker(KPIFLOW_FAULT_STORE_DOWN="1")
    stuck.wait_ready()
    during = valid_workload(rng, 300, start=200)
    publish(s, during)
    stuck.wait_for_log("retrying in", timeout=60)
    # The agent gathers the next batch while the stuck one retries;
    # the stuck batch's offsets must never be committed.
    later = valid_workload(rng, 100, start=500)
    publish(s, later)
    committed_before = {p.partition: p.committed for p in consumer_lag(s)}
    time.sleep(4)  # four of Faust's commit intervals
    assert {p.partition: p.committed for p in consumer_lag(s)} == committed_before
    stuck.stop()  # SIGTERM, then wait

    restarted = pipeline.start_worker()
    restarted.wait_ready()
    everything = before.event_ids | during.event_ids | later.event_ids
    pipeline.wait_caught_up(expected_raw=len(everything))
    code, doc = run_verify(pipeline)
    assert code == 0, (differences(doc), doc)
    assert doc["stats"]["raw_event_ids"] == len(everything), doc["stats"]
    assert "exiting without acknowledging it" in stuck.tail(300), stuck.tail(300)
    assert stuck.proc.returncode == 0  # a normal stop


def _cli(pipeline, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, **pipeline.env, "COLUMNS": "200"}
    env.pop("KPIFLOW_TEST_CHDB_DSN", None)
    return subprocess.run(
        [sys.executable, "-m", "kpiflow.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_publish_dead_letters_a_bad_line_anywhere_and_output_escapes_data(pipeline, tmp_path):
    rng = random.Random(17)
    s = pipeline.settings()
    valid = [activity(rng, i) for i in range(1200)]
    for event in valid[:50]:
        event["rep_id"] = "[/oops]"  # rich markup, as data
    lines = [json.dumps(e).encode() for e in valid]
    deep = json.dumps({**activity(rng, 5000), "n": "__N__"}).replace('"__N__"', "[" * 10_000)
    huge = json.dumps({**activity(rng, 5001), "padding": "z" * 9_000_000})  # over the topic
    lines.insert(1000, deep.encode())  # line 1,001
    lines.insert(1100, huge.encode())
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")

    done = _cli(pipeline, "publish", str(path))
    assert done.returncode == 0, done.stderr + done.stdout
    assert "published 1200, invalid 2" in done.stdout, done.stdout
    assert "line 1001: JSON nests more than 64 levels deep" in done.stdout, done.stdout
    assert "line 1101: message is" in done.stdout, done.stdout
    dlq, _ = dead_letters_by_source(s)
    assert sorted(src for src, _, _ in dlq) == [f"{path}:1001", f"{path}:1101"]

    worker = pipeline.start_worker()
    worker.wait_ready()
    pipeline.wait_caught_up(expected_raw=len(valid))
    table = _cli(pipeline, "report", "activity_points", "-g", "quarter", "-b", "rep", "-f", "table")
    assert table.returncode == 0, table.stderr
    assert "[/oops]" in table.stdout, table.stdout
