"""Publishing events to Kafka: an idempotent confluent-kafka producer (acks=all).

`publish_lines` validates each line first: valid events go to the events topic keyed by their
aggregate id; invalid ones go to the dead-letter topic unchanged, with the reason, so nothing
is lost. The worker validates again (a producer is not trusted).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from kpiflow.errors import RuntimeServiceError
from kpiflow.events import InvalidEvent, parse_event
from kpiflow.events.rates import configured_rates
from kpiflow.settings import Settings
from kpiflow.streams.deadletter import (
    HEADER_TRUNCATED,
    MAX_DEAD_LETTER_BYTES,
    dead_letter_headers,
)


@dataclass
class PublishSummary:
    published: int = 0
    invalid: list[tuple[int, str]] = field(default_factory=list)  # (line number, reason)

    @property
    def invalid_count(self) -> int:
        return len(self.invalid)


def make_producer(settings: Settings, **overrides: Any):
    from confluent_kafka import Producer

    conf = settings.kafka.confluent_config() | {
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 20,
        "compression.type": "lz4",
        "message.timeout.ms": 120_000,
        "queue.buffering.max.messages": 500_000,
        # an invalid line goes to the dead-letter topic unchanged, however large (up to its limit)
        "message.max.bytes": MAX_DEAD_LETTER_BYTES + 64 * 1024,
    }
    conf.update(overrides)
    return Producer(conf)


class EventPublisher:
    """Validate-and-send with delivery tracking; `flush()` raises if any delivery failed."""

    def __init__(self, settings: Settings, producer=None) -> None:
        self.settings = settings
        self.producer = producer or make_producer(settings)
        self.errors: list[str] = []
        self.delivered = 0

    def _on_delivery(self, err, _msg) -> None:
        if err is not None:
            self.errors.append(str(err))
        else:
            self.delivered += 1

    def _produce(self, topic: str, value: bytes, key: bytes | None, headers=None) -> None:
        while True:
            try:
                self.producer.produce(
                    topic, value=value, key=key, headers=headers, on_delivery=self._on_delivery
                )
                break
            except BufferError:
                self.producer.poll(0.1)  # local queue full: let deliveries drain
        self.producer.poll(0)

    def send_valid(self, payload: dict[str, Any] | bytes, key: str) -> None:
        value = (
            payload
            if isinstance(payload, bytes)
            else json.dumps(payload, separators=(",", ":")).encode()
        )
        self._produce(self.settings.kafka.events_topic, value, key.encode())

    def send_raw(self, value: bytes) -> None:
        """Send bytes as they are to the events topic (the worker judges them)."""
        self._produce(self.settings.kafka.events_topic, value, None)

    def send_invalid(self, value: bytes, reason: str, origin: str) -> None:
        """To the dead-letter topic unchanged; a line larger than the topic takes is cut to its
        first MAX_DEAD_LETTER_BYTES, with a header giving its size (the file keeps the line)."""
        headers = dead_letter_headers(reason, source_topic=origin, partition=-1, offset=-1)
        if len(value) > MAX_DEAD_LETTER_BYTES:
            headers.append((HEADER_TRUNCATED, str(len(value)).encode()))
            value = value[:MAX_DEAD_LETTER_BYTES]
        self._produce(self.settings.kafka.dlq_topic, value, None, headers)

    def flush(self, timeout: float = 120) -> None:
        remaining = self.producer.flush(timeout)
        if remaining:
            raise RuntimeServiceError(
                f"{remaining} messages were not delivered to Kafka at "
                f"{self.settings.kafka.bootstrap_servers} within {timeout:.0f}s; is the broker up "
                "(`kpiflow up`)?"
            )
        if self.errors:
            raise RuntimeServiceError(
                f"Kafka rejected {len(self.errors)} messages; first: {self.errors[0]}"
            )


def publish_lines(
    settings: Settings,
    lines: Iterable[bytes],
    origin: str = "file",
    on_line: Callable[[], None] | None = None,
    publisher: EventPublisher | None = None,
) -> PublishSummary:
    """Publish JSON Lines: valid ones to the events topic, invalid ones to the dead-letter topic."""
    publisher = publisher or EventPublisher(settings)
    summary = PublishSummary()
    currency = settings.pipeline.currency
    rates = configured_rates(settings.pipeline)
    for number, line in enumerate(lines, start=1):
        if on_line:
            on_line()
        stripped = line.strip()
        if not stripped:
            continue
        try:
            event = parse_event(stripped, currency, rates=rates)
        except InvalidEvent as exc:
            summary.invalid.append((number, exc.reason))
            publisher.send_invalid(stripped, exc.reason, f"{origin}:{number}")
            continue
        publisher.send_valid(stripped, event.aggregate_key())
        summary.published += 1
    publisher.flush()
    return summary
