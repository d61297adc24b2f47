"""The local Kafka runtime against a real broker: start, topics, both client libraries, restart.

One broker for the module (free ports, its own data directory); each test uses its own topics
and consumer groups. The restart tests come last and leave the broker running.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import ConfigResource

from kpiflow.errors import RuntimeServiceError
from kpiflow.runtime import kafka as runtime
from kpiflow.runtime.kafka_admin import admin_client
from kpiflow.runtime.process import free_port

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("kafka-runtime")
    runtime.ensure_installed()
    handle = runtime.start(data_dir, port=free_port(), controller_port=free_port())
    yield handle
    runtime.stop(data_dir)
    assert not runtime.is_running(data_dir)


def names() -> tuple[str, str]:
    tag = uuid.uuid4().hex[:8]
    return f"t{tag}.events", f"g{tag}"


def produce(bootstrap: str, topic: str, count: int) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
    for i in range(count):
        producer.produce(topic, key=f"k{i}".encode(), value=f"v{i}".encode())
    assert producer.flush(10) == 0


def consume_and_commit(bootstrap: str, topic: str, group: str, count: int) -> list[bytes]:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    try:
        consumer.subscribe([topic])
        values: list[bytes] = []
        for _ in range(200):
            msg = consumer.poll(0.2)
            if msg is not None and not msg.error():
                values.append(msg.value())
            if len(values) >= count:
                break
        consumer.commit(asynchronous=False)
        return values
    finally:
        consumer.close()


def committed(bootstrap: str, topic: str, group: str, partitions: int) -> int:
    """Sum of the group's committed offsets over the topic's partitions."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    wanted = [TopicPartition(topic, p) for p in range(partitions)]
    try:
        offsets = consumer.committed(wanted, timeout=10)
    finally:
        consumer.close()
    return sum(max(tp.offset, 0) for tp in offsets)


def end_offsets(bootstrap: str, topic: str, partitions: int) -> int:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "watermarks"})
    try:
        return sum(
            consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
            for p in range(partitions)
        )
    finally:
        consumer.close()


async def aiokafka_roundtrip(bootstrap: str, topic: str, group: str, count: int) -> dict:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True)
    await producer.start()
    try:
        for i in range(count):
            await producer.send(topic, key=f"a{i}".encode(), value=f"a{i}".encode())
        await producer.flush()
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        seen = 0
        async with asyncio.timeout(30):
            while seen < count:
                batches = await consumer.getmany(timeout_ms=500)
                seen += sum(len(msgs) for msgs in batches.values())
        await consumer.commit()
        return {tp.partition: await consumer.committed(tp) for tp in consumer.assignment()}
    finally:
        await consumer.stop()


def test_start_twice_returns_the_running_broker(broker):
    again = runtime.start(broker.data_dir, port=broker.port)

    assert again == broker
    assert runtime.pid(broker.data_dir) == broker.pid
    assert broker.log_path.read_text().count("Kafka Server started") >= 1


def test_start_refuses_a_port_in_use(broker, tmp_path):
    with pytest.raises(RuntimeServiceError, match=f"port {broker.port} .* taken"):
        runtime.start(tmp_path, port=broker.port)
    with pytest.raises(RuntimeServiceError, match=f"already runs on port {broker.port}"):
        runtime.start(broker.data_dir, port=broker.port + 7)
    assert not runtime.is_running(tmp_path)
    assert not runtime.stop(tmp_path)


def test_wait_ready_answers_for_a_broker_and_times_out_without_one(broker):
    runtime.wait_ready(broker.bootstrap, timeout=10)

    with pytest.raises(RuntimeServiceError, match="did not answer within 1s"):
        runtime.wait_ready(f"127.0.0.1:{free_port()}", timeout=1)


def test_a_broker_that_dies_while_starting_is_reported_with_its_log(tmp_path):
    data = tmp_path / "kafka" / "data"
    data.mkdir(parents=True)
    (data / "meta.properties").write_text("version=1\ncluster.id=x\nnode.id=7\n")

    with pytest.raises(RuntimeServiceError, match=r"(?s)exited while starting.*node id 7"):
        runtime.start(tmp_path, port=free_port(), controller_port=free_port())
    assert not runtime.is_running(tmp_path)


def test_ensure_topics_creates_missing_topics_once(broker):
    events, _ = names()
    dlq = events + ".dlq"
    wanted = {events: 4, dlq: 1}

    created = runtime.ensure_topics(broker.bootstrap, wanted, retention_ms={events: -1})
    again = runtime.ensure_topics(broker.bootstrap, wanted, retention_ms={events: -1})

    assert sorted(created) == sorted(wanted)
    assert again == []
    admin = admin_client(broker.bootstrap)
    topics = admin.list_topics(timeout=10).topics
    assert {name: len(topics[name].partitions) for name in wanted} == wanted
    resource = ConfigResource(ConfigResource.Type.TOPIC, events)
    config = admin.describe_configs([resource])[resource].result(timeout=10)
    assert config["retention.ms"].value == "-1"


def test_confluent_kafka_produces_consumes_and_commits(broker):
    topic, group = names()
    runtime.ensure_topics(broker.bootstrap, {topic: 3})

    produce(broker.bootstrap, topic, 30)
    values = consume_and_commit(broker.bootstrap, topic, group, 30)

    assert sorted(values) == sorted(f"v{i}".encode() for i in range(30))
    assert committed(broker.bootstrap, topic, group, 3) == 30


def test_aiokafka_consumer_group_commits_offsets(broker):
    topic, group = names()
    runtime.ensure_topics(broker.bootstrap, {topic: 3})

    offsets = asyncio.run(aiokafka_roundtrip(broker.bootstrap, topic, group, 25))

    assert sum(offsets.values()) == 25
    assert committed(broker.bootstrap, topic, group, 3) == 25


def test_stop_then_start_keeps_messages_and_committed_offsets(broker):
    topic, group = names()
    runtime.ensure_topics(broker.bootstrap, {topic: 3}, retention_ms={topic: -1})
    produce(broker.bootstrap, topic, 40)
    consume_and_commit(broker.bootstrap, topic, group, 40)

    assert runtime.stop(broker.data_dir)
    assert not runtime.is_running(broker.data_dir)
    assert not runtime.stop(broker.data_dir)  # harmless when not running
    restarted = runtime.start(
        broker.data_dir, port=broker.port, controller_port=broker.controller_port
    )

    assert restarted.pid != broker.pid
    assert end_offsets(broker.bootstrap, topic, 3) == 40
    assert committed(broker.bootstrap, topic, group, 3) == 40
    assert runtime.ensure_topics(broker.bootstrap, {topic: 3}) == []


@pytest.mark.fault
def test_kill_then_start_recovers_the_data(broker):
    topic, group = names()
    runtime.ensure_topics(broker.bootstrap, {topic: 2})
    produce(broker.bootstrap, topic, 10)
    consume_and_commit(broker.bootstrap, topic, group, 10)

    assert runtime.kill(broker.data_dir)
    assert not runtime.is_running(broker.data_dir)
    runtime.start(broker.data_dir, port=broker.port, controller_port=broker.controller_port)

    assert end_offsets(broker.bootstrap, topic, 2) == 10
    assert committed(broker.bootstrap, topic, group, 2) == 10
