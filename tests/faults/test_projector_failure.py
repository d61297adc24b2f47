"""A projection that keeps failing is loud, not a freeze, and ingest goes on.

The raw log is tampered with while the worker is stopped (a row no validated event can produce:
an amount that is not a number), so every projector step fails on it. The worker's state
endpoint and `kpiflow status` say so, with the error, how often, and the raw-log position; new
events are still ingested into the raw log.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time

import pytest

from tests.faults.helpers import publish, valid_workload
from tests.support.pipeline_env import REPO

pytestmark = [pytest.mark.fault, pytest.mark.integration]

TAMPER = """
from kpiflow.projections.rawlog import RAW_COLUMNS
from kpiflow.projections.store import open_store
from kpiflow.settings import Settings
store = open_store(Settings())
row = {c: "" for c in RAW_COLUMNS}
row.update(event_id="00000000-0000-4000-8000-00000000abcd", event_type="deal.opened",
           schema_version=1, occurred_at="2026-10-02 10:00:00", source="tamper", rep_id="r",
           team_id="t", deal_id="d-x", customer_id="c-x", deal_kind="new_business",
           amount="not-a-number", currency="EUR", stage="prospect", checklist={}, payload="{}",
           topic="elsewhere", partition=0, offset=10**9)
store.command(
    "INSERT INTO {db}.raw_event_log (" + ", ".join(RAW_COLUMNS) + ") FORMAT JSONEachRow "
    + __import__("json").dumps(row)
)
store.close()
"""


def _env(pipeline) -> dict[str, str]:
    env = {**os.environ, **pipeline.env}
    env.pop("KPIFLOW_TEST_CHDB_DSN", None)
    return env


def test_a_failing_projection_is_reported_and_ingest_goes_on(pipeline):
    rng = random.Random(21)
    s = pipeline.settings()
    first = valid_workload(rng, 100)
    publish(s, first)
    worker = pipeline.start_worker()
    worker.wait_ready()
    pipeline.wait_caught_up(expected_raw=len(first.event_ids))
    worker.stop()
    done = subprocess.run(
        [sys.executable, "-c", TAMPER], env=_env(pipeline), cwd=REPO, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr

    worker = pipeline.start_worker()
    worker.wait_ready()
    deadline = time.monotonic() + 60
    failure = None
    while time.monotonic() < deadline:
        failure = (pipeline.state() or {}).get("projector_failure")
        if failure and failure["attempts"] >= 2:
            break
        time.sleep(0.5)
    assert failure and failure["attempts"] >= 2, pipeline.state()
    assert "not-a-number" in failure["error"] or "InvalidOperation" in failure["error"], failure
    assert failure["positions"], failure

    second = valid_workload(rng, 50, start=100)
    publish(s, second)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if pipeline.state()["ingest"]["accepted"] >= len(second.event_ids):
            break
        time.sleep(0.5)
    assert pipeline.state()["ingest"]["accepted"] == len(second.event_ids)  # ingest goes on
    status = subprocess.run(
        [sys.executable, "-m", "kpiflow.cli", "status"],
        env=_env(pipeline) | {"COLUMNS": "300"},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert status.returncode == 0, status.stderr
    assert "projector failing" in status.stdout, status.stdout
    as_json = subprocess.run(
        [sys.executable, "-m", "kpiflow.cli", "status", "--json"],
        env=_env(pipeline),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    doc = json.loads(as_json.stdout)
    assert doc["worker"]["projector_failure"]["attempts"] >= 2, doc
    assert doc["raw_events"] == len(first.event_ids) + len(second.event_ids) + 1  # + tampered
    assert worker.proc.poll() is None, worker.tail()
