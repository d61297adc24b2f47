"""Consumer lag and topic sizes, read from Kafka with confluent-kafka (no worker needed)."""

from __future__ import annotations

from dataclasses import dataclass

from kpiflow.errors import RuntimeServiceError
from kpiflow.settings import Settings


@dataclass(frozen=True)
class PartitionLag:
    partition: int
    committed: int  # -1 when the group has not committed yet
    end: int

    @property
    def lag(self) -> int:
        return self.end - max(self.committed, 0)


def _consumer(settings: Settings, group: str):
    from confluent_kafka import Consumer

    return Consumer(
        settings.kafka.confluent_config() | {"group.id": group, "enable.auto.commit": False}
    )


def _partitions(consumer, topic: str, timeout: float) -> list[int]:
    meta = consumer.list_topics(topic, timeout=timeout)
    info = meta.topics.get(topic)
    if info is None or info.error is not None:
        raise RuntimeServiceError(f"topic {topic!r} is missing; run `kpiflow up` to create it")
    return sorted(info.partitions)


def consumer_lag(settings: Settings, timeout: float = 10.0) -> list[PartitionLag]:
    from confluent_kafka import KafkaException, TopicPartition

    topic = settings.kafka.events_topic
    consumer = _consumer(settings, settings.kafka.consumer_group)
    try:
        parts = _partitions(consumer, topic, timeout)
        committed = consumer.committed([TopicPartition(topic, p) for p in parts], timeout=timeout)
        out = []
        for tp in committed:
            _, high = consumer.get_watermark_offsets(
                TopicPartition(topic, tp.partition), timeout=timeout
            )
            out.append(PartitionLag(tp.partition, tp.offset if tp.offset >= 0 else -1, high))
        return out
    except KafkaException as exc:
        raise RuntimeServiceError(
            f"cannot read offsets from Kafka at {settings.kafka.bootstrap_servers}: {exc}; is it "
            "up?"
        ) from None
    finally:
        consumer.close()


def topic_size(settings: Settings, topic: str, timeout: float = 10.0) -> int:
    """Messages currently in a topic (end - start, summed over partitions)."""
    from confluent_kafka import TopicPartition

    consumer = _consumer(settings, "kpiflow-inspect")
    try:
        total = 0
        for p in _partitions(consumer, topic, timeout):
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout)
            total += high - low
        return total
    finally:
        consumer.close()
