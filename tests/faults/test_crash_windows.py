"""SIGKILL of the worker in each crash window of a micro-batch, then a restart.

    triage -> dead letters -> [before_insert] -> raw-log insert -> [after_insert] -> return
    -> Faust acks -> [after_ack] -> next batch

`KPIFLOW_FAULT_CRASH_AT=<window>:<batch>` (a test-only hook, streams/fault_hooks.py) kills the
worker exactly there. After the restart the raw log must hold every valid event once, the
dead-letter topic every invalid message (once after dedupe by source coordinates), and
`kpiflow verify` must pass.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from tests.faults.helpers import (
    assert_dlq_holds_exactly,
    differences,
    noisy_history,
    publish,
    run_verify,
)
from tests.support.pipeline_env import REPO

pytestmark = [pytest.mark.fault, pytest.mark.integration]

CRASH_BATCH = 4
MERGE_NOW = """
from kpiflow.projections.store import open_store
from kpiflow.settings import Settings
store = open_store(Settings())
store.command("OPTIMIZE TABLE {db}.raw_event_log FINAL")
store.close()
"""


def crash_and_recover(pipeline, window: str, **unsafe: str):
    workload = noisy_history()
    publish(pipeline.settings(), workload)
    doomed = pipeline.start_worker(KPIFLOW_FAULT_CRASH_AT=f"{window}:{CRASH_BATCH}", **unsafe)
    assert doomed.proc.wait(timeout=120) == -signal.SIGKILL, doomed.tail()
    assert f"KPIFLOW_FAULT_CRASH_AT={window}:{CRASH_BATCH}" in doomed.tail(200)
    survivor = pipeline.start_worker(**unsafe)
    survivor.wait_ready()
    pipeline.wait_caught_up(expected_raw=len(workload.event_ids))
    return workload, survivor


@pytest.mark.parametrize("window", ["before_insert", "after_insert", "after_ack"])
def test_sigkill_in_each_crash_window_loses_nothing_and_counts_nothing_twice(pipeline, window):
    workload, survivor = crash_and_recover(pipeline, window)
    code, doc = run_verify(pipeline)  # while the worker runs: through its gateway
    assert code == 0, (differences(doc), doc)
    assert doc["stats"]["raw_event_ids"] == len(workload.event_ids)
    assert doc["stats"]["accepted_events"] == len(workload.event_ids)
    assert_dlq_holds_exactly(pipeline.settings(), workload)
    if window == "after_ack":
        survivor.stop()  # and once more with the worker stopped: the embedded engine directly
        code, doc = run_verify(pipeline)
        assert code == 0, (differences(doc), doc)


def test_negative_control_without_deduplication_verify_fails(pipeline):
    """The suite can fail: with the dedup safeguards off (test-only KPIFLOW_UNSAFE_NO_DEDUP: no
    insert tokens, no lookup of copies already stored) the same crash lets later copies of
    events into the raw log, and verify must say so (exit 1).

    The raw log keeps one row per event_id once ClickHouse has merged its parts (the last
    inserted wins). Until a merge, the KPIs recomputed from it still see the accepted copy first
    and agree with the projections; merges run in the background, whenever. So the test stops
    the worker and merges now (OPTIMIZE ... FINAL), as a background merge would sooner or later:
    then the recomputed KPIs follow the later copies, and must differ from the projections."""
    _, survivor = crash_and_recover(pipeline, "after_insert", KPIFLOW_UNSAFE_NO_DEDUP="1")
    survivor.stop()
    env = {**os.environ, **pipeline.env}
    env.pop("KPIFLOW_TEST_CHDB_DSN", None)
    merged = subprocess.run(
        [sys.executable, "-c", MERGE_NOW], env=env, cwd=REPO, capture_output=True, text=True
    )
    assert merged.returncode == 0, merged.stderr
    code, doc = run_verify(pipeline)
    assert code == 1, doc
    found = differences(doc)
    assert found.get("raw_log.wrong_copy", 0) > 0  # a later copy replaced the accepted one
    assert (
        found.get("kpis.different", 0) + found.get("kpis.missing", 0) + found.get("kpis.extra", 0)
        > 0
    )
