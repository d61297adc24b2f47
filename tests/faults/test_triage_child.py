"""The worker's triage child: killed, it fails the worker's batch unacknowledged (read again at
the next start, counted once); the worker killed, the child ends too."""

from __future__ import annotations

import os
import random
import re
import signal
import time

import pytest

from kpiflow.runtime.process import alive
from kpiflow.streams.lag import consumer_lag
from tests.faults.helpers import differences, publish, run_verify, valid_workload

pytestmark = [pytest.mark.fault, pytest.mark.integration]

EXIT_BATCH_FAILED = 4


def child_pid(worker) -> int:
    worker.wait_for_log("triage: in a child process (pid ")
    found = re.search(r"triage: in a child process \(pid (\d+)\)", worker.tail(400))
    assert found, worker.tail()
    return int(found.group(1))


def wait_gone(pid: int, timeout: float = 15) -> bool:
    deadline = time.monotonic() + timeout
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    return not alive(pid)


def test_a_killed_triage_child_loses_nothing_and_counts_nothing_twice(pipeline):
    rng = random.Random(11)
    s = pipeline.settings()
    before = valid_workload(rng, 300)
    publish(s, before)
    worker = pipeline.start_worker()
    worker.wait_ready()
    pipeline.wait_caught_up(expected_raw=len(before.event_ids))

    os.kill(child_pid(worker), signal.SIGKILL)
    after = valid_workload(rng, 200, start=300)
    publish(s, after)
    assert worker.proc.wait(timeout=90) == EXIT_BATCH_FAILED, worker.tail()
    assert "the triage process" in worker.tail(300)
    assert sum(p.lag for p in consumer_lag(s)) >= 1  # the batch it had was not acknowledged

    again = pipeline.start_worker()
    again.wait_ready()
    pipeline.wait_caught_up(expected_raw=len(before.event_ids) + len(after.event_ids))
    code, doc = run_verify(pipeline)
    assert code == 0, (differences(doc), doc)
    assert doc["stats"]["raw_event_ids"] == len(before.event_ids | after.event_ids), doc["stats"]


def test_the_child_ends_with_its_worker(pipeline):
    worker = pipeline.start_worker()
    worker.wait_ready()
    pid = child_pid(worker)
    assert alive(pid)
    os.kill(worker.proc.pid, signal.SIGKILL)  # the worker alone, not its process group
    worker.proc.wait(timeout=30)
    assert wait_gone(pid), "the triage child outlived its killed worker"

    stopped = pipeline.start_worker()
    stopped.wait_ready()
    pid = child_pid(stopped)
    stopped.stop()  # SIGTERM to the group, as a normal stop: the child ignores it
    assert stopped.proc.returncode == 0, stopped.tail()
    assert wait_gone(pid), "the triage child outlived its stopped worker"
