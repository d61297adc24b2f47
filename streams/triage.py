"""Deciding what happens to each message of a micro-batch. Pure: no Kafka, no ClickHouse.

accepted -> the event with its payload and coordinates (the raw log stores it); rejected -> the
dead-letter topic with the reason; duplicate (an event_id already accepted from another
message) -> counted and dropped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kpiflow.events import InvalidEvent, SalesEvent, parse_event
from kpiflow.events.deals import first_terminal, is_terminal
from kpiflow.events.limits import received_from_ms
from kpiflow.events.rates import ExchangeRates
from kpiflow.projections.rawlog import arrow_rows
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


@dataclass
class Triaged:
    """A triaged batch as the ingest writes it: the raw-log rows of the accepted events (an
    `arrow_rows` table, None when none was accepted) instead of one object per event."""

    rows: Any
    rejected: list[Rejected]
    duplicates: int
    ranges: dict[int, tuple[int, int]]
    rejected_flags: list[bool]

    @property
    def accepted(self) -> int:
        return self.rows.num_rows if self.rows is not None else 0

    @property
    def event_ids(self) -> list[str]:
        return self.rows.column("event_id").to_pylist() if self.rows is not None else []


def triage_rows(
    batch: Sequence[Incoming],
    currency: str,
    terminals: TerminalIndex,
    rates: ExchangeRates | None = None,
) -> tuple[Triaged, dict[str, tuple[datetime, int, int]]]:
    """`triage`, with the accepted events as raw-log rows; and the batch's new terminal stages."""
    out = triage(batch, currency, terminals, rates=rates)
    rows = arrow_rows(out.accepted) if out.accepted else None
    triaged = Triaged(rows, out.rejected, out.duplicates, out.ranges, out.rejected_flags)
    return triaged, out.new_terminals


def drop_known_rows(out: Triaged, existing: Mapping[str, tuple[str, int, int]]) -> Triaged:
    """`drop_known` of a `Triaged` batch's rows."""
    if out.rows is None or not existing:
        return out
    import pyarrow as pa

    table = out.rows
    columns = (table.column(c).to_pylist() for c in ("event_id", "topic", "partition", "offset"))
    keep = [
        not _held_elsewhere(existing, event_id, (topic, partition, offset))
        for event_id, topic, partition, offset in zip(*columns, strict=True)
    ]
    dropped = keep.count(False)
    if not dropped:
        return out
    rows = table.filter(pa.array(keep, type=pa.bool_()))
    return Triaged(
        rows if rows.num_rows else None,
        out.rejected,
        out.duplicates + dropped,
        out.ranges,
        out.rejected_flags,
    )


def _held_elsewhere(
    existing: Mapping[str, tuple[str, int, int]], event_id: str, where: tuple[str, int, int]
) -> bool:
    """The raw log holds a copy of `event_id` read at other coordinates (the same coordinates:
    a retried batch, written again and deduplicated by ClickHouse)."""
    copy = existing.get(event_id)
    return copy is not None and copy != where


def drop_known(out: Triage, existing: Mapping[str, tuple[str, int, int]]) -> Triage:
    """Drop accepted events whose event_id the raw log already holds from other coordinates.

    The same coordinates mean this batch is being retried: the row is written again, and
    ClickHouse deduplicates it (same rows, same token)."""
    keep = []
    for accepted in out.accepted:
        where = (accepted.topic, accepted.partition, accepted.offset)
        if _held_elsewhere(existing, accepted.event.event_id, where):
            out.duplicates += 1
            continue
        keep.append(accepted)
    out.accepted = keep
    return out
