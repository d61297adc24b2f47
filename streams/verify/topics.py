"""Reading the events and dead-letter topics for `kpiflow verify` (confluent-kafka, no group join).

The reader assigns partitions itself and never commits, so it does not disturb the worker's
consumer group; the committed offsets of that group are read, not changed.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from kpiflow.errors import RuntimeServiceError
from kpiflow.settings import Settings
from kpiflow.streams.deadletter import (
    HEADER_OFFSET,
    HEADER_PARTITION,
    HEADER_REASON,
    HEADER_TOPIC,
    read_headers,
)
from kpiflow.streams.verify.logcheck import DeadLetter


@dataclass(frozen=True, slots=True)
class Record:
    partition: int
    offset: int
    value: bytes | None
    headers: list[tuple[str, bytes]] | None = None
    timestamp_ms: int | None = None  # the record timestamp (None: the record has none)


class KafkaSource(Protocol):
    """What verify needs from Kafka (a fake in unit tests)."""

    def partitions(self, topic: str) -> dict[int, tuple[int, int]]: ...  # p -> (low, high)
    def committed(self, topic: str, group: str) -> dict[int, int]: ...  # p -> next offset
    def read(self, topic: str, partition: int, start: int, end: int) -> Iterator[list[Record]]: ...
    def close(self) -> None: ...


class ConfluentSource:
    """KafkaSource on a real cluster."""

    def __init__(self, settings: Settings, timeout: float = 30.0) -> None:
        from confluent_kafka import Consumer

        self.timeout = timeout
        self.bootstrap = settings.kafka.bootstrap_servers
        self._conf = settings.kafka.confluent_config() | {
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "enable.partition.eof": False,
            "fetch.max.bytes": 16 * 1024 * 1024,
        }
        self.consumer = Consumer(
            self._conf | {"group.id": f"kpiflow-verify-{uuid.uuid4().hex[:8]}"}
        )

    def _fail(self, what: str, exc: Exception) -> RuntimeServiceError:
        return RuntimeServiceError(
            f"cannot {what} from Kafka at {self.bootstrap}: {exc}; is it up?"
        )

    def partitions(self, topic: str) -> dict[int, tuple[int, int]]:
        from confluent_kafka import KafkaException, TopicPartition

        try:
            meta = self.consumer.list_topics(topic, timeout=self.timeout)
            info = meta.topics.get(topic)
            if info is None or info.error is not None or not info.partitions:
                raise RuntimeServiceError(
                    f"topic {topic!r} does not exist at {self.bootstrap} (`kpiflow up` creates it)"
                )
            return {
                p: self.consumer.get_watermark_offsets(
                    TopicPartition(topic, p), timeout=self.timeout
                )
                for p in sorted(info.partitions)
            }
        except KafkaException as exc:
            raise self._fail(f"read the partitions of {topic}", exc) from None

    def committed(self, topic: str, group: str) -> dict[int, int]:
        from confluent_kafka import Consumer, KafkaException, TopicPartition

        reader = Consumer(self._conf | {"group.id": group})
        try:
            parts = sorted(self.partitions(topic))
            done = reader.committed([TopicPartition(topic, p) for p in parts], timeout=self.timeout)
            return {tp.partition: tp.offset for tp in done if tp.offset >= 0}
        except KafkaException as exc:
            raise self._fail(f"read the committed offsets of group {group}", exc) from None
        finally:
            reader.close()

    def read(
        self, topic: str, partition: int, start: int, end: int, chunk: int = 5000
    ) -> Iterator[list[Record]]:
        """Records [start, end) of one partition, in offset order, in chunks."""
        from confluent_kafka import TIMESTAMP_NOT_AVAILABLE, TopicPartition

        if start >= end:
            return
        self.consumer.assign([TopicPartition(topic, partition, start)])
        position = start
        stalled_since = time.monotonic()
        try:
            while position < end:
                messages = self.consumer.consume(chunk, timeout=1.0)
                out = []
                for m in messages:
                    if m.error() is not None:
                        raise RuntimeServiceError(f"reading {topic}[{partition}]: {m.error()}")
                    if m.offset() >= end:
                        continue
                    kind, ms = m.timestamp()
                    stamp = ms if kind != TIMESTAMP_NOT_AVAILABLE and ms >= 0 else None
                    out.append(Record(m.partition(), m.offset(), m.value(), m.headers(), stamp))
                    position = m.offset() + 1
                if out:
                    stalled_since = time.monotonic()
                    yield out
                    continue
                at = self.consumer.position([TopicPartition(topic, partition)])[0].offset
                if at >= end:  # only control records or compacted gaps were left
                    break
                if time.monotonic() - stalled_since > self.timeout:
                    raise RuntimeServiceError(
                        f"reading {topic}[{partition}] stalled at offset {position} of {end} for "
                        f"{self.timeout:.0f}s (broker {self.bootstrap})"
                    )
        finally:
            self.consumer.unassign()

    def close(self) -> None:
        self.consumer.close()


def dead_letters(source: KafkaSource, topic: str) -> list[DeadLetter]:
    """Every record of the dead-letter topic, by its source headers."""
    out = []
    for partition, (low, high) in source.partitions(topic).items():
        for chunk in source.read(topic, partition, low, high):
            for record in chunk:
                h = read_headers(record.headers)
                out.append(DeadLetter(
                    topic=h.get(HEADER_TOPIC),
                    partition=_int(h.get(HEADER_PARTITION)),
                    offset=_int(h.get(HEADER_OFFSET)),
                    reason=h.get(HEADER_REASON, ""),
                    at=(record.partition, record.offset),
                ))  # fmt: skip
    return out


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None
