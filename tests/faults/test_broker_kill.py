"""SIGKILL of the Kafka broker while events are published and ingested, then a restart on the
same data directory (it comes back with its messages and committed offsets).

A dedicated broker: the session broker of the other tests is never killed."""

from __future__ import annotations

import threading
import time

import pytest

from tests.faults.helpers import (
    assert_dlq_holds_exactly,
    differences,
    noisy_history,
    publish,
    run_verify,
)
from tests.support.pipeline_env import PipelineEnv, free_port

pytestmark = [pytest.mark.fault, pytest.mark.integration]


@pytest.fixture
def own_broker(tmp_path):
    try:
        from kpiflow.runtime import kafka as runtime
    except ImportError as exc:  # the local runtime module is not there yet
        pytest.skip(f"needs kpiflow.runtime.kafka (start/kill of a local broker): {exc}")
    data_dir = tmp_path / "broker"
    ports = {"port": free_port(), "controller_port": free_port()}
    runtime.ensure_installed()
    runtime.start(data_dir, **ports)
    yield runtime, data_dir, ports
    runtime.stop(data_dir)


def test_broker_sigkill_under_load_loses_nothing_and_counts_nothing_twice(own_broker, tmp_path):
    runtime, data_dir, ports = own_broker
    pipeline = PipelineEnv(f"127.0.0.1:{ports['port']}", tmp_path)
    pipeline.env.update({"KPIFLOW_BATCH_SIZE": "100"})
    pipeline.create_topics()
    try:
        workload = noisy_history(seed=9)
        half = len(workload.messages) // 2
        first, second = workload.messages[:half], workload.messages[half:]
        worker = pipeline.start_worker()
        worker.wait_ready()
        s = pipeline.settings()
        publish(s, type(workload)(messages=first))
        gateway = pipeline.gateway()
        deadline = time.monotonic() + 60
        while (gateway.scalar("SELECT count() FROM {db}.raw_event_log") or 0) == 0:
            assert time.monotonic() < deadline, worker.tail()
            time.sleep(0.1)
        # the second half goes out while the broker dies and comes back (idempotent producer)
        sender = threading.Thread(target=publish, args=(s, type(workload)(messages=second)))
        sender.start()
        assert runtime.kill(data_dir)
        runtime.start(data_dir, **ports)
        sender.join(timeout=180)
        assert not sender.is_alive()
        pipeline.wait_caught_up(expected_raw=len(workload.event_ids), timeout=240)
        assert worker.proc.poll() is None, "the worker must ride out a broker restart"
        log = worker.log_path.read_text(errors="replace")
        client_errors = log.count("KafkaConnectionError") + log.count("Unable connect")
        assert client_errors <= 10, f"{client_errors} Kafka client error lines: a flood"
        code, doc = run_verify(pipeline)
        assert code == 0, (differences(doc), doc)
        assert doc["stats"]["topic_messages"] == len(workload.messages)  # no producer duplicates
        assert_dlq_holds_exactly(s, workload)
    finally:
        pipeline.stop_all()
