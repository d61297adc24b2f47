"""The dead-letter table: rejects the dead-letter topic refused, kept in ClickHouse instead.

The worker writes here only when the topic refuses a record (see `kpiflow.streams.deadletter`),
so the topic and this table together hold every reject exactly once per source message.
"""

from __future__ import annotations

from dataclasses import dataclass

COLUMNS = ("topic", "partition", "offset", "reason", "value", "value_bytes", "refused_by")


@dataclass(frozen=True, slots=True)
class StoredDeadLetter:
    topic: str
    partition: int
    offset: int
    reason: str
    value_bytes: int
    refused_by: str


def insert(
    store, topic: str, partition: int, offset: int, reason: str, value: bytes, refused_by: str
) -> None:
    """One reject; retried inserts of the same message are no-ops (token by coordinates)."""
    row = [topic, partition, offset, reason, value, len(value), refused_by]
    store.insert("dead_letter_log", [row], COLUMNS, f"dlq:{topic}:{partition}:{offset}")


def read_all(store) -> list[StoredDeadLetter]:
    """Every stored reject, without the values (they can be megabytes each)."""
    rows = store.rows(
        "SELECT topic, partition, offset, reason, value_bytes, refused_by FROM {db}.dead_letters "
        "ORDER BY topic, partition, offset"
    )
    return [
        StoredDeadLetter(
            r["topic"],
            int(r["partition"]),
            int(r["offset"]),
            r["reason"],
            int(r["value_bytes"]),
            r["refused_by"],
        )
        for r in rows
    ]
