"""An error that retrying cannot cure stops the worker unacknowledged instead of freezing it.

A `rep_id` holding a lone UTF-16 surrogate (JSON `"\\ud800"`) passes the v1 models but cannot be
encoded for the raw-log insert (UnicodeEncodeError). Retrying it forever froze ingest and lost
the batch on the next SIGTERM; now only transient ClickHouse errors are retried, so the worker
exits with code 4, the batch is not acknowledged, and everything stored before it is intact.
(Dead-lettering such a value at validation is the Limits work of issue 15.)
"""

from __future__ import annotations

import json
import random

import pytest

from kpiflow.streams.lag import consumer_lag
from tests.faults.helpers import (
    Workload,
    activity,
    differences,
    publish,
    run_verify,
    valid_workload,
)

pytestmark = [pytest.mark.fault, pytest.mark.integration]

EXIT_BATCH_FAILED = 4


def test_a_value_the_store_cannot_take_stops_the_worker_unacknowledged(pipeline):
    rng = random.Random(7)
    s = pipeline.settings()
    before = valid_workload(rng, 200)
    publish(s, before)
    worker = pipeline.start_worker()
    worker.wait_ready()
    pipeline.wait_caught_up(expected_raw=len(before.event_ids))

    bad = Workload()
    bad.messages.append((json.dumps({**activity(rng, 500), "rep_id": "\ud800"}).encode(), None))
    publish(s, bad)
    assert worker.proc.wait(timeout=90) == EXIT_BATCH_FAILED, worker.tail()
    tail = worker.tail(300)
    assert "could not be processed; exiting without acknowledging it" in tail
    assert "retrying in" not in tail  # not retried: retrying cannot cure it
    assert sum(p.lag for p in consumer_lag(s)) >= 1  # the failed batch was not acknowledged
    code, doc = run_verify(pipeline)  # what was acknowledged is stored, exactly once
    assert code == 0, (differences(doc), doc)
    assert doc["stats"]["raw_event_ids"] == len(before.event_ids), doc["stats"]
