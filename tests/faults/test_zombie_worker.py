"""SIGSTOP a worker past its session timeout while a second worker takes over, then SIGCONT.

Two workers must write to one ClickHouse. The embedded engine (chdb) lets one process open a
data path at a time, and each worker opens its own, so two workers on chdb would simply be two
separate databases: no takeover to test. This test therefore runs only against a ClickHouse
server: set KPIFLOW_TEST_CLICKHOUSE_DSN (e.g. http://default@127.0.0.1:8123) and, if needed,
KPIFLOW_TEST_CLICKHOUSE_PASSWORD. Each run uses its own database, dropped at the end.
"""

from __future__ import annotations

import json
import os
import signal
import time
import urllib.request
import uuid

import pytest

from kpiflow.streams.lag import consumer_lag
from tests.faults.helpers import (
    Workload,
    assert_dlq_holds_exactly,
    differences,
    noisy_history,
    publish,
    run_verify,
)
from tests.support.pipeline_env import free_port

CH_DSN = os.environ.get("KPIFLOW_TEST_CLICKHOUSE_DSN", "")

pytestmark = [
    pytest.mark.fault,
    pytest.mark.integration,
    pytest.mark.skipif(
        not CH_DSN or CH_DSN.startswith("chdb:"),
        reason="needs a ClickHouse server that two worker processes share "
        "(KPIFLOW_TEST_CLICKHOUSE_DSN): the embedded chdb engine opens a data path in one process",
    ),
]


def state(port: str) -> dict | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/kpiflow/state", timeout=2) as r:  # noqa: S310
            return json.loads(r.read())
    except OSError:
        return None


def wait_for(condition, what: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.3)


def test_sigstop_past_session_timeout_then_sigcont_loses_nothing_and_counts_nothing_twice(
    pipeline, tmp_path
):
    from kpiflow.projections.store import ClickHouseStore

    database = f"t_{uuid.uuid4().hex[:10]}"
    password = os.environ.get("KPIFLOW_TEST_CLICKHOUSE_PASSWORD", "")
    pipeline.env.update({
        "KPIFLOW_CLICKHOUSE_DSN": CH_DSN,
        "KPIFLOW_CLICKHOUSE_DATABASE": database,
        "KPIFLOW_CLICKHOUSE_PASSWORD": password,
        "KPIFLOW_BATCH_SIZE": "100",
    })  # fmt: skip
    store = ClickHouseStore(CH_DSN, database, password or None)
    s = pipeline.settings()
    try:
        workload = noisy_history(seed=13)
        half = len(workload.messages) // 2
        publish(s, Workload(messages=workload.messages[:half]))
        first = pipeline.start_worker()
        first.wait_ready()
        wait_for(
            lambda: (store.scalar("SELECT count() FROM {db}.raw_event_log") or 0) > 0,
            "the first inserts",
        )
        first.kill(signal.SIGSTOP)  # frozen mid-stream, maybe mid-batch: a zombie once evicted
        second_port = str(free_port())
        second = pipeline.start_worker(
            KPIFLOW_DATA_DIR=str(tmp_path / "data-2"), KPIFLOW_WORKER_WEB_PORT=second_port
        )
        wait_for(
            lambda: (state(second_port) or {}).get("projector"), "the second worker", timeout=120
        )
        publish(s, Workload(messages=workload.messages[half:]))
        wait_for(
            lambda: sum(p.lag for p in consumer_lag(s)) == 0,
            "the second worker to take over and catch up",
        )
        first.kill(
            signal.SIGCONT
        )  # the zombie wakes up: its in-flight batch and commits must not harm
        wait_for(
            lambda: (
                store.scalar("SELECT uniqExact(event_id) FROM {db}.raw_event_log")
                == len(workload.event_ids)
            ),
            "every event in the raw log",
        )
        wait_for(lambda: sum(p.lag for p in consumer_lag(s)) == 0, "lag 0 after the zombie woke")
        code, doc = run_verify(pipeline)
        assert code == 0, (differences(doc), doc)
        assert_dlq_holds_exactly(s, workload)
        assert second.proc.poll() is None
    finally:
        for worker in pipeline.workers:
            if worker.proc.poll() is None:
                worker.kill(
                    signal.SIGCONT
                )  # a stopped process would ignore the SIGTERM of stop_all
        pipeline.stop_all()
        store.command("DROP DATABASE IF EXISTS {db}")
        store.close()
