"""`kpiflow import` stopped part way (SIGTERM, as a normal stop or a closed terminal does) and
run again: every fact counts exactly once, because each event's id is derived from its fact."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from bench.import_bench import write_export
from kpiflow.settings import Settings
from kpiflow.streams.crm_import.run import import_export
from tests.streams.crm_import.test_import_deals import Collect
from tests.support.pipeline_env import REPO, published

pytestmark = [pytest.mark.fault, pytest.mark.integration]


def test_an_import_stopped_part_way_and_run_again_counts_each_fact_once(pipeline, tmp_path):
    export, mapping = write_export(tmp_path, 20_000)
    sink = Collect()
    import_export(Settings(strict=False), "deals", export, mapping, publisher=sink)
    expected = len({json.loads(v)["event_id"] for v in sink.events})
    # the worker's usual batches: the process stopped here is the import, not the worker
    worker = pipeline.start_worker(KPIFLOW_BATCH_SIZE="2000")
    worker.wait_ready()
    env = {**os.environ, **pipeline.env}
    env.pop("KPIFLOW_TEST_CHDB_DSN", None)
    argv = [sys.executable, "-m", "kpiflow.cli", "import", "deals", str(export), "-m",
            str(mapping), "--json"]  # fmt: skip
    first = subprocess.Popen(argv, cwd=REPO, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)  # fmt: skip
    # stopped once its first events are in Kafka: whether the worker has written them yet
    # depends on the worker's speed, not the import's
    settings = pipeline.settings()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not published(settings, settings.kafka.events_topic):
        time.sleep(0.02)
    first.send_signal(signal.SIGTERM)
    first.wait(timeout=30)
    pipeline.wait_caught_up(timeout=120)
    part = _raw(pipeline)
    assert 0 < part < expected, (part, expected)  # it stopped part way
    again = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, timeout=300)
    assert again.returncode == 0, again.stderr
    pipeline.wait_caught_up(expected_raw=expected, timeout=180)
    assert _raw(pipeline) == expected


def _raw(pipeline) -> int:
    try:
        return int(
            pipeline.gateway().scalar("SELECT uniqExact(event_id) FROM {db}.raw_event_log") or 0
        )
    except Exception:  # noqa: BLE001 - the worker's gateway is not up yet
        return 0
