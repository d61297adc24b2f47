"""Where a message sits in Kafka: topic, partition, offset."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Coordinates:
    topic: str
    partition: int
    offset: int
