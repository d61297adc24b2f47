"""Deciding what happens to each message of a micro-batch. Pure: no Kafka, no ClickHouse.

accepted -> the event with its payload and coordinates (the raw log stores it); rejected -> the
dead-letter topic with the reason; duplicate (an event_id already accepted from another
message) -> counted and dropped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from kpiflow.events import InvalidEvent, SalesEvent, parse_event
from kpiflow.events.deals import first_terminal, is_terminal
from kpiflow.events.limits import received_from_ms
from kpiflow.events.rates import ExchangeRates
from kpiflow.streams.coordinates import Coordinates


@dataclass(frozen=True, slots=True)
class Incoming:
    """One consumed message. `received_ms` is its Kafka record timestamp (None: none), the moment
    kpiflow first received it: the reference of the 7-days-ahead bound of `occurred_at`."""

    value: bytes | None
    where: Coordinates
    received_ms: int | None = None


@dataclass(frozen=True, slots=True)
class Accepted:
    """A valid event, its original JSON and where it was read (a `rawlog.Placed`)."""

    event: SalesEvent
    payload: str
    where: Coordinates

    @property
    def topic(self) -> str:
        return self.where.topic

    @property
    def partition(self) -> int:
        return self.where.partition

    @property
    def offset(self) -> int:
        return self.where.offset


@dataclass(frozen=True, slots=True)
class Rejected:
    value: bytes
    reason: str
    where: Coordinates


@dataclass
class Triage:
    accepted: list[Accepted] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    duplicates: int = 0
    ranges: dict[int, tuple[int, int]] = field(default_factory=dict)
    new_terminals: dict[str, tuple[datetime, int, int]] = field(default_factory=dict)
    rejected_flags: list[bool] = field(default_factory=list)  # per message, in arrival order

    @property
    def event_ids(self) -> list[str]:
        return [a.event.event_id for a in self.accepted]


# deal_id -> (first terminal instant, partition, offset) of the terminal change known so far
TerminalIndex = Mapping[str, tuple[datetime, int, int]]


def _arrived_before(known: tuple[datetime, int, int], where: Coordinates) -> bool:
    _, partition, offset = known
    return partition != where.partition or offset < where.offset


def triage(
    batch: Sequence[Incoming],
    currency: str,
    terminals: TerminalIndex,
    existing: Mapping[str, tuple[str, int, int]] | None = None,
    rates: ExchangeRates | None = None,
) -> Triage:
    """Validate a batch in arrival order.

    `terminals` is what the raw log knew before this batch; terminal changes accepted earlier in
    the batch count too. `existing` maps event_ids already in the raw log to the coordinates of
    their copy: a message at other coordinates is a duplicate; the same coordinates mean this
    batch is being retried, and the row is written again (deduplicated by ClickHouse).
    """
    out = Triage()
    existing = existing or {}
    seen_in_batch: set[str] = set()
    local_terminals: dict[str, tuple[datetime, int, int]] = {}
    for message in batch:
        where = message.where
        lo, hi = out.ranges.get(where.partition, (where.offset, where.offset))
        out.ranges[where.partition] = (min(lo, where.offset), max(hi, where.offset))
        raw = message.value if message.value is not None else b""
        try:
            event = parse_event(raw, currency, received_from_ms(message.received_ms), rates)
        except InvalidEvent as exc:
            out.rejected.append(Rejected(raw, exc.reason, where))
            out.rejected_flags.append(True)
            continue
        if event.event_id in seen_in_batch:
            out.duplicates += 1
            out.rejected_flags.append(False)
            continue
        if event.event_type == "deal.stage_changed":
            known = local_terminals.get(event.deal_id) or terminals.get(event.deal_id)
            if known is not None and event.occurred_at > known[0] and _arrived_before(known, where):
                out.rejected.append(
                    Rejected(
                        raw,
                        f"to_stage: deal {event.deal_id} already reached a terminal stage at "
                        f"{known[0].isoformat()}; a deal never moves after won or lost",
                        where,
                    )
                )
                out.rejected_flags.append(True)
                continue
            placed = (event.occurred_at, where.partition, where.offset)
            if is_terminal(event.to_stage) and first_terminal(placed, known):
                local_terminals[event.deal_id] = placed
        out.rejected_flags.append(False)
        seen_in_batch.add(event.event_id)
        out.accepted.append(Accepted(event, raw.decode("utf-8"), where))
    out.new_terminals = local_terminals
    return drop_known(out, existing) if existing else out


def drop_known(out: Triage, existing: Mapping[str, tuple[str, int, int]]) -> Triage:
    """Drop accepted events whose event_id the raw log already holds from other coordinates.

    The same coordinates mean this batch is being retried: the row is written again, and
    ClickHouse deduplicates it (same rows, same token)."""
    keep = []
    for accepted in out.accepted:
        copy = existing.get(accepted.event.event_id)
        if copy is not None and copy != (accepted.topic, accepted.partition, accepted.offset):
            out.duplicates += 1
            continue
        keep.append(accepted)
    out.accepted = keep
    return out
