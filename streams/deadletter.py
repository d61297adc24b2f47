"""Dead-letter records: the message unchanged, and headers that say why and where from."""

from __future__ import annotations

HEADER_REASON = "kpiflow-error"
HEADER_TOPIC = "kpiflow-source-topic"
HEADER_PARTITION = "kpiflow-source-partition"
HEADER_OFFSET = "kpiflow-source-offset"
MAX_REASON_BYTES = 4000


def dead_letter_headers(
    reason: str, source_topic: str, partition: int, offset: int
) -> list[tuple[str, bytes]]:
    return [
        (HEADER_REASON, reason.encode("utf-8", "replace")[:MAX_REASON_BYTES]),
        (HEADER_TOPIC, source_topic.encode()),
        (HEADER_PARTITION, str(partition).encode()),
        (HEADER_OFFSET, str(offset).encode()),
    ]


def read_headers(headers) -> dict[str, str]:
    """Headers of a consumed dead-letter record (list of pairs or dict) as text."""
    items = headers.items() if isinstance(headers, dict) else (headers or [])
    return {
        key: (value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value))
        for key, value in items
    }
