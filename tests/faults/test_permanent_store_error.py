"""An error that retrying cannot cure stops the worker unacknowledged instead of freezing it.

Only transient ClickHouse errors are retried. Any other error of the raw-log insert (here made
by the test-only hook `KPIFLOW_FAULT_STORE_DOWN=permanent`) stops the worker with exit code 4:
the batch is not acknowledged, and everything stored before it is intact. (The value that used to
cause this, a lone surrogate in `rep_id`, is now dead-lettered by the Limits: tests/faults/
test_limits.py.)
"""

from __future__ import annotations

import random

import pytest

from kpiflow.streams.lag import consumer_lag
from tests.faults.helpers import differences, publish, run_verify, valid_workload

pytestmark = [pytest.mark.fault, pytest.mark.integration]

EXIT_BATCH_FAILED = 4


def test_an_error_retrying_cannot_cure_stops_the_worker_unacknowledged(pipeline):
    rng = random.Random(7)
    s = pipeline.settings()
    before = valid_workload(rng, 200)
    publish(s, before)
    worker = pipeline.start_worker()
    worker.wait_ready()
    pipeline.wait_caught_up(expected_raw=len(before.event_ids))
    worker.stop()

    failing = pipeline.start_worker(KPIFLOW_FAULT_STORE_DOWN="permanent")
    publish(s, valid_workload(rng, 50, start=200))
    assert failing.proc.wait(timeout=90) == EXIT_BATCH_FAILED, failing.tail()
    tail = failing.tail(300)
    assert "could not be processed; exiting without acknowledging it" in tail
    assert "retrying in" not in tail  # not retried: retrying cannot cure it
    assert sum(p.lag for p in consumer_lag(s)) >= 1  # the failed batch was not acknowledged
    code, doc = run_verify(pipeline)  # what was acknowledged is stored, exactly once
    assert code == 0, (differences(doc), doc)
    assert doc["stats"]["raw_event_ids"] == len(before.event_ids), doc["stats"]
