"""One worker per embedded store: a second worker in the same consumer group refuses to start.

Before, a worker with another data directory (or the same command run from another folder) joined
the group, took partitions and stored their events in its own embedded database: the first
worker's data missed them for good. Now the second worker exits with a message saying why and
what to do, and the first keeps every event.
"""

from __future__ import annotations

import random

import pytest

from tests.faults.helpers import differences, publish, run_verify, valid_workload
from tests.support.pipeline_env import free_port

pytestmark = [pytest.mark.fault, pytest.mark.integration]


def test_a_second_worker_on_another_data_directory_refuses_to_start(pipeline, tmp_path):
    rng = random.Random(22)
    s = pipeline.settings()
    first = pipeline.start_worker()
    first.wait_ready()
    other = pipeline.start_worker(
        KPIFLOW_DATA_DIR=str(tmp_path / "elsewhere"),
        KPIFLOW_WORKER_WEB_PORT=str(free_port()),
        KPIFLOW_SESSION_TIMEOUT="3",
    )
    assert other.proc.wait(timeout=60) == 2, other.tail()
    tail = other.tail(50)
    assert "another worker is running in consumer group" in tail, tail
    assert "split the data" in tail and "KPIFLOW_CLICKHOUSE_DSN" in tail, tail

    work = valid_workload(rng, 300)
    publish(s, work)
    pipeline.wait_caught_up(expected_raw=len(work.event_ids))
    code, doc = run_verify(pipeline)
    assert code == 0, (differences(doc), doc)
    assert doc["stats"]["raw_event_ids"] == len(work.event_ids)
    assert first.proc.poll() is None, first.tail()
