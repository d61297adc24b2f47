"""What the raw log and the dead-letter topic should hold, from the events topic alone. Pure.

The topic is fed in (partition, offset) order through the worker's own `triage`, in chunks,
carrying the state the worker carries between batches: the event ids accepted so far (a later
copy is a duplicate) and the first terminal stage change of each deal (a later-occurring stage
change that arrives after it is dead-lettered).

Kafka orders messages within a partition only. Two outcomes depend on how a worker happened to
interleave partitions, and either one is correct:
- which copy of an event is accepted, when its copies sit in different partitions;
- whether a stage change is dead-lettered, when its deal's stage changes sit in different
  partitions (possible only when producers do not key by deal_id).
Those events are *order-dependent*: the comparison accepts either fate for them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from kpiflow.events import InvalidEvent, parse_event
from kpiflow.events.limits import received_from_ms
from kpiflow.events.rates import ExchangeRates
from kpiflow.events.registry import decode_json
from kpiflow.streams.coordinates import Coordinates
from kpiflow.streams.triage import Incoming, triage

STAGE_CHANGED = "deal.stage_changed"

Where = tuple[int, int]  # (partition, offset) within the events topic


@dataclass
class Expected:
    """The fate of every message of the topic under the pipeline's rules."""

    messages: int = 0
    accepted: dict[str, Where] = field(default_factory=dict)  # event_id -> the copy accepted
    duplicates: dict[str, list[Where]] = field(default_factory=dict)  # event_id -> later copies
    rejected: dict[Where, str] = field(default_factory=dict)  # message -> reason
    rejected_ids: dict[Where, str] = field(default_factory=dict)  # stateful rejects: -> event_id
    any_copy: set[str] = field(default_factory=set)  # accepted, but which copy is order-dependent
    either_fate: set[str] = field(default_factory=set)  # accepted or dead-lettered: order-dependent

    def copies(self, event_id: str) -> list[Where]:
        """Every message that carries this valid event, the one accepted (if any) first."""
        first = self.accepted.get(event_id)
        rejected = [w for w, i in self.rejected_ids.items() if i == event_id]
        return ([first] if first else []) + rejected + self.duplicates.get(event_id, [])

    @property
    def order_dependent(self) -> set[str]:
        return self.any_copy | self.either_fate


class TopicReplay:
    """Feed chunks of one topic in (partition, offset) order; `result()` when done."""

    def __init__(self, currency: str, rates: ExchangeRates | None = None) -> None:
        self.currency = currency
        self.rates = rates
        self.expected = Expected()
        self._terminals: dict[str, tuple[datetime, int, int]] = {}
        self._existing: dict[str, tuple[str, int, int]] = {}
        self._deal_partitions: dict[str, set[int]] = {}
        self._deal_events: dict[str, set[str]] = {}

    def feed(self, chunk: Sequence[Incoming]) -> None:
        if not chunk:
            return
        exp = self.expected
        exp.messages += len(chunk)
        ids = [_peek_id(m.value) for m in chunk]
        by_where = {(m.where.partition, m.where.offset): m for m in chunk}
        existing = {i: self._existing[i] for i in ids if i is not None and i in self._existing}
        result = triage(chunk, self.currency, self._terminals, existing, self.rates)
        self._terminals.update(result.new_terminals)
        accepted_at: set[Where] = set()
        for accepted in result.accepted:
            event, event_id = accepted.event, accepted.event.event_id
            where = (accepted.partition, accepted.offset)
            accepted_at.add(where)
            exp.accepted[event_id] = where
            self._existing[event_id] = (accepted.topic, *where)
            if event.event_type == STAGE_CHANGED:
                self._stage_change(event.deal_id, event_id, where[0])
        rejected_at: set[Where] = set()
        for rejected in result.rejected:
            where = (rejected.where.partition, rejected.where.offset)
            rejected_at.add(where)
            exp.rejected[where] = rejected.reason
            event = _valid(by_where[where], self.currency, self.rates)
            if event is not None:  # a valid event rejected by a stateful rule (terminal stage)
                exp.rejected_ids[where] = event.event_id
                if event.event_type == STAGE_CHANGED:
                    self._stage_change(event.deal_id, event.event_id, where[0])
        for message, event_id in zip(chunk, ids, strict=True):
            where = (message.where.partition, message.where.offset)
            if where in accepted_at or where in rejected_at or event_id is None:
                continue
            exp.duplicates.setdefault(event_id, []).append(where)  # a later copy, dropped
            event = _valid(message, self.currency, self.rates)
            if event is not None and event.event_type == STAGE_CHANGED:
                self._stage_change(event.deal_id, event.event_id, where[0])

    def _stage_change(self, deal_id: str, event_id: str, partition: int) -> None:
        self._deal_partitions.setdefault(deal_id, set()).add(partition)
        self._deal_events.setdefault(deal_id, set()).add(event_id)

    def result(self) -> Expected:
        exp = self.expected
        for event_id in {*exp.duplicates, *exp.rejected_ids.values()}:  # events with 2+ messages
            if len({partition for partition, _ in exp.copies(event_id)}) > 1:
                exp.any_copy.add(event_id)
        for deal_id, partitions in self._deal_partitions.items():
            if len(partitions) > 1:
                exp.either_fate.update(self._deal_events[deal_id])
        exp.any_copy -= exp.either_fate
        return exp


def _peek_id(value: bytes | None) -> str | None:
    """The event_id of a message if it is a JSON object with a string event_id (no validation)."""
    if not value:
        return None
    try:
        decoded = decode_json(value)
    except InvalidEvent:
        return None
    event_id = decoded.get("event_id")
    return event_id.lower() if isinstance(event_id, str) else None  # ids are case-insensitive


def _valid(message: Incoming, currency: str, rates: ExchangeRates | None = None):
    try:
        return parse_event(
            message.value or b"", currency, received_from_ms(message.received_ms), rates
        )
    except InvalidEvent:
        return None


def incoming(
    topic: str, partition: int, offset: int, value: bytes | None, received_ms: int | None = None
) -> Incoming:
    return Incoming(value, Coordinates(topic, partition, offset), received_ms)
