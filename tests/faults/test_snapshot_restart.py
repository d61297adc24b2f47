"""A worker killed after a snapshot, with more events projected since, restarts from the
snapshot and ends with the projections of a full rebuild (real Kafka, real worker processes).

1. the worker builds version 1 and saves a snapshot; 2. more events come in and are projected
(no snapshot of them: KPIFLOW_SNAPSHOT_SECONDS is long); 3. SIGKILL; 4. more events while it is
down; 5. a new worker loads the snapshot (its log says so), re-applies what came after it, and
`kpiflow verify` (a per-record recomputation from the whole raw log) finds every KPI row right.
"""

from __future__ import annotations

import random

import pytest

from tests.faults.helpers import differences, publish, run_verify, valid_workload

pytestmark = [pytest.mark.fault, pytest.mark.integration]


def test_killed_after_a_snapshot_restarts_from_it_with_a_full_rebuilds_rows(pipeline):
    rng = random.Random(14)
    s = pipeline.settings()
    first, second, third = (valid_workload(rng, 150, start=k * 150) for k in range(3))
    publish(s, first)
    worker = pipeline.start_worker(KPIFLOW_SNAPSHOT_SECONDS="3600")
    worker.wait_ready()
    pipeline.wait_caught_up(expected_raw=150)
    worker.wait_for_log("snapshot of version 1 saved")
    publish(s, second)
    pipeline.wait_caught_up(expected_raw=300)  # projected past the snapshot, not saved
    worker.kill()
    publish(s, third)

    restarted = pipeline.start_worker(KPIFLOW_SNAPSHOT_SECONDS="3600")
    restarted.wait_ready()
    restarted.wait_for_log("version 1 loaded from its snapshot")
    pipeline.wait_caught_up(expected_raw=450)
    code, doc = run_verify(pipeline)
    assert code == 0 and not differences(doc), doc
    assert "building definition version 1 from the raw log" not in restarted.tail(400)
