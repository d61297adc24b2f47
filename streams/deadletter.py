"""Dead-letter records: the message unchanged, and headers that say why and where from."""

from __future__ import annotations

HEADER_REASON = "kpiflow-error"
HEADER_TOPIC = "kpiflow-source-topic"
HEADER_PARTITION = "kpiflow-source-partition"
HEADER_OFFSET = "kpiflow-source-offset"
HEADER_TRUNCATED = "kpiflow-truncated-from-bytes"  # `publish` only: a line larger than the topic
MAX_REASON_BYTES = 4000

# A dead letter is the consumed message unchanged plus headers. The events topic takes records up
# to its max.message.bytes (1 MiB by default) *compressed*: a record that compressed well is far
# larger once read. So the dead-letter topic and the worker's producer take up to 8 MiB
# (`kpiflow up` sets the topic's max.message.bytes); a record the topic still refuses goes to the
# dead-letter table in ClickHouse (`deadletter_table`), so no reject is ever dropped.
MAX_DEAD_LETTER_BYTES = 8 * 1024 * 1024
DEAD_LETTER_TOPIC_CONFIG = {"max.message.bytes": str(MAX_DEAD_LETTER_BYTES + 64 * 1024)}


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


class DeadLetterRefused(Exception):  # noqa: N818 - a fact about the record, not a failure of ours
    """The dead-letter topic refused a record for good (retrying the same record cannot help)."""


def is_refusal(exc: BaseException) -> bool:
    """Whether a send error is the topic refusing this record, not the broker being away.

    Too large (for the producer's max.request.size or the topic's max.message.bytes), corrupt,
    or not allowed: the record goes to the dead-letter table instead. Anything else (a lost
    connection, a timeout) is not a refusal: the batch stays unacknowledged."""
    from aiokafka import errors

    refusals = (
        errors.MessageSizeTooLargeError,
        errors.RecordListTooLargeError,
        errors.CorruptRecordException,
        errors.TopicAuthorizationFailedError,
        errors.PolicyViolationError,
        errors.InvalidTopicError,
        errors.RecordTooLargeError,
    )
    return isinstance(exc, refusals)
