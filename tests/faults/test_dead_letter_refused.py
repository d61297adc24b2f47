"""The dead-letter topic refuses a record (here: larger than its max.message.bytes).

The record and its reason go to the dead-letter table in ClickHouse instead (view
`dead_letters`), the batch is acknowledged only after that insert, and the worker goes on.
(Before the table existed, the worker exited with code 4 at every start until an operator raised
the topic's limit; before that was handled, the batch was acknowledged with nothing stored.)"""

from __future__ import annotations

import json
import random

import pytest
from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource

from kpiflow.projections import deadletters
from tests.faults.helpers import (
    activity,
    dead_letters_by_source,
    differences,
    publish,
    run_verify,
    valid_workload,
)

pytestmark = [pytest.mark.fault, pytest.mark.integration]


def set_max_message_bytes(settings, topic: str, value: int) -> None:
    admin = AdminClient(settings.kafka.confluent_config())
    resource = ConfigResource(ConfigResource.Type.TOPIC, topic, incremental_configs=[
        ConfigEntry("max.message.bytes", str(value), incremental_operation=AlterConfigOpType.SET)
    ])  # fmt: skip
    for future in admin.incremental_alter_configs([resource]).values():
        future.result(timeout=30)


def test_a_refused_dead_letter_goes_to_the_dead_letter_table(pipeline):
    s = pipeline.settings()
    set_max_message_bytes(s, s.kafka.dlq_topic, 2000)
    rng = random.Random(4)
    work = valid_workload(rng, 150)
    big_invalid = json.dumps(
        {**activity(rng, 999), "schema_version": "1", "note": "x" * 5000}
    ).encode()
    small_invalid = json.dumps({**activity(rng, 998), "schema_version": "1"}).encode()
    work.add_invalid(big_invalid)
    work.add_invalid(small_invalid)
    work.messages += (tail := valid_workload(rng, 150, start=150)).messages
    work.event_ids |= tail.event_ids
    publish(s, work)
    worker = pipeline.start_worker()
    worker.wait_ready()
    pipeline.wait_caught_up(expected_raw=len(work.event_ids))
    assert worker.proc.poll() is None, worker.tail()
    assert "keeping it in the dead-letter table" in worker.tail(300)

    in_topic, _ = dead_letters_by_source(s)
    assert [value for value, _ in in_topic.values()] == [small_invalid]
    stored = deadletters.read_all(pipeline.gateway())
    assert len(stored) == 1, stored
    assert stored[0].value_bytes == len(big_invalid)
    assert "schema_version" in stored[0].reason
    assert "TooLarge" in stored[0].refused_by
    value = pipeline.gateway().rows(
        "SELECT hex(value) AS v FROM {db}.dead_letters WHERE offset = {o:UInt64}",
        {"o": stored[0].offset},
    )[0]["v"]
    assert bytes.fromhex(value) == big_invalid  # unchanged
    code, doc = run_verify(pipeline)
    assert code == 0, (differences(doc), doc)
    assert doc["stats"]["dead_letter_records"] == 2, doc["stats"]
    assert worker.proc.poll() is None, worker.tail()
