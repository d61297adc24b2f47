"""The dead-letter topic refuses a record (here: larger than its max.message.bytes).

The batch must not be acknowledged: the worker exits (code 4) and reads the batch again at the
next start. (Before this was handled, the exception ended Faust's take_events, whose `finally`
acknowledged the batch: its offsets were committed with nothing stored, a silent loss.)"""

from __future__ import annotations

import json
import random

import pytest
from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource

from kpiflow.streams.lag import consumer_lag
from tests.faults.helpers import (
    activity,
    assert_dlq_holds_exactly,
    differences,
    publish,
    run_verify,
    valid_workload,
)

pytestmark = [pytest.mark.fault, pytest.mark.integration]

EXIT_BATCH_FAILED = 4


def set_max_message_bytes(settings, topic: str, value: int) -> None:
    admin = AdminClient(settings.kafka.confluent_config())
    resource = ConfigResource(ConfigResource.Type.TOPIC, topic, incremental_configs=[
        ConfigEntry("max.message.bytes", str(value), incremental_operation=AlterConfigOpType.SET)
    ])  # fmt: skip
    for future in admin.incremental_alter_configs([resource]).values():
        future.result(timeout=30)


def test_refused_dead_letter_stops_the_worker_without_acknowledging(pipeline):
    s = pipeline.settings()
    set_max_message_bytes(s, s.kafka.dlq_topic, 2000)
    rng = random.Random(4)
    work = valid_workload(rng, 150)
    big_invalid = json.dumps(
        {**activity(rng, 999), "schema_version": "1", "note": "x" * 5000}
    ).encode()
    work.add_invalid(big_invalid)
    work.messages += (tail := valid_workload(rng, 150, start=150)).messages
    work.event_ids |= tail.event_ids
    publish(s, work)
    worker = pipeline.start_worker()
    assert worker.proc.wait(timeout=90) == EXIT_BATCH_FAILED, worker.tail()
    assert "exiting without acknowledging" in worker.tail(300)
    assert sum(p.lag for p in consumer_lag(s)) > 0
    set_max_message_bytes(s, s.kafka.dlq_topic, 1_048_588)  # the operator's fix
    restarted = pipeline.start_worker()
    restarted.wait_ready()
    pipeline.wait_caught_up(expected_raw=len(work.event_ids))
    assert_dlq_holds_exactly(s, work)
    code, doc = run_verify(pipeline)
    assert code == 0, (differences(doc), doc)
