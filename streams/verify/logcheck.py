"""Raw log and dead-letter topic against what the events topic implies. Pure: data in, findings out.

"Acknowledged" is what the worker's consumer group committed: the worker commits a batch's
offsets only after its raw-log insert returned and its dead letters were delivered, so a message
below the committed offset must already have its outcome stored. Past it, an outcome may still
be on its way: that is `pending`, not a difference.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from kpiflow.projections.verify.findings import Report
from kpiflow.streams.verify.replay import Expected, Where

RAW = "raw_log"
DLQ = "dead_letters"


@dataclass(frozen=True, slots=True)
class RawRow:
    event_id: str
    topic: str
    partition: int
    offset: int


@dataclass
class RawSnapshot:
    """`raw_events` (one row per event_id) as read at one moment."""

    rows: list[RawRow]
    count: int  # count() of raw_events
    unique: int  # uniqExact(event_id) of raw_events


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One record of the dead-letter topic, by its source headers (None when absent)."""

    topic: str | None
    partition: int | None
    offset: int | None
    reason: str
    at: Where  # its own (partition, offset) in the dead-letter topic


@dataclass
class Offsets:
    """Per partition of the events topic: committed by the worker, and the retention start."""

    committed: Mapping[int, int] = field(default_factory=dict)  # next offset to read; absent = none
    low: Mapping[int, int] = field(default_factory=dict)

    def acknowledged(self, where: Where) -> bool:
        return where[1] < self.committed.get(where[0], -1)


def compare_raw_log(
    exp: Expected,
    raw: RawSnapshot,
    topic: str,
    offsets: Offsets,
    dlq: Iterable[DeadLetter],
    report: Report,
) -> None:
    """Every accepted event in the raw log exactly once, as the copy accepted; nothing else."""
    dead = {(d.partition, d.offset) for d in dlq if d.topic == topic}
    if raw.count != raw.unique:
        report.add(
            RAW,
            "not_unique",
            "raw_events",
            f"{raw.unique} rows (one per event_id)",
            f"{raw.count} rows",
        )
    stored: dict[str, Where] = {}
    for row in raw.rows:
        where = (row.partition, row.offset)
        if row.topic != topic or row.offset < offsets.low.get(row.partition, 0):
            report.add(
                RAW, "unverifiable", row.event_id, "", f"{row.topic}[{row.partition}]@{row.offset}"
            )
            continue
        stored[row.event_id] = where
        accepted = exp.accepted.get(row.event_id)
        if row.event_id in exp.either_fate or row.event_id in exp.any_copy:
            if where not in exp.copies(row.event_id):
                report.add(
                    RAW,
                    "wrong_copy",
                    row.event_id,
                    f"one of {_places(exp.copies(row.event_id))}",
                    _place(where),
                )
        elif accepted is None:
            report.add(
                RAW, "extra", row.event_id, _fate(exp, where), f"stored from {_place(where)}"
            )
        elif accepted != where:
            report.add(
                RAW, "wrong_copy", row.event_id, f"the copy at {_place(accepted)}", _place(where)
            )
    for event_id, where in exp.accepted.items():
        if event_id in stored or event_id in exp.either_fate:
            continue
        copies = exp.copies(event_id) if event_id in exp.any_copy else [where]
        if any(offsets.acknowledged(w) for w in copies):
            report.add(
                RAW, "missing", event_id, f"accepted from {_place(where)}", "not in raw_events"
            )
        else:
            report.add(
                RAW, "pending", event_id, f"accepted from {_place(where)}", "not yet written"
            )
    for event_id in sorted(exp.order_dependent):
        report.add(RAW, "order_dependent", event_id, _places(exp.copies(event_id)))
        if event_id not in exp.either_fate or event_id in stored:
            continue
        copies = exp.copies(event_id)
        if not any(w in dead for w in copies):
            kind = "missing" if any(offsets.acknowledged(w) for w in copies) else "pending"
            report.add(RAW, kind, event_id, "in raw_events or dead-lettered", "neither")


def compare_dead_letters(
    exp: Expected, topic: str, offsets: Offsets, dlq: Iterable[DeadLetter], report: Report
) -> None:
    """Each reject in the dead-letter topic (by source coordinates), with its reason; no more."""
    by_source: dict[Where, list[DeadLetter]] = {}
    for record in dlq:
        if record.topic is None or record.partition is None or record.offset is None:
            report.add(DLQ, "extra", f"dead letter {_place(record.at)}", "source headers", "none")
        elif record.topic != topic or record.partition < 0:
            report.add(
                DLQ,
                "other_source",
                f"dead letter {_place(record.at)}",
                "",
                f"{record.topic}[{record.partition}]@{record.offset}",
            )
        else:
            by_source.setdefault((record.partition, record.offset), []).append(record)
    for where, reason in exp.rejected.items():
        records = by_source.get(where)
        either = exp.rejected_ids.get(where) in exp.either_fate
        if not records:
            if not either:
                kind = "missing" if offsets.acknowledged(where) else "pending"
                report.add(DLQ, kind, f"message {_place(where)}", reason, "not dead-lettered")
            continue
        for extra in records[1:]:
            report.add(
                DLQ, "redelivered", f"message {_place(where)}", "", f"again at {_place(extra.at)}"
            )
        got = records[0].reason
        if not either and normalize_reason(got) != normalize_reason(reason):
            report.add(DLQ, "reason", f"message {_place(where)}", reason, got)
    owners = None
    for where, records in by_source.items():
        if where in exp.rejected:
            continue
        if owners is None:
            owners = _owners(exp)
        if owners.get(where) in exp.either_fate:
            continue
        what = (
            f"accepted as event {owners[where]}"
            if where in owners
            else "no such message in the topic"
        )
        for record in records:
            report.add(
                DLQ,
                "extra",
                f"message {_place(where)}",
                what,
                f"dead-lettered at {_place(record.at)}: {record.reason}",
            )


_INSTANT = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)?")


def normalize_reason(reason: str) -> str:
    """A reason with every timestamp in it as a UTC instant (the same instant can be spelled
    with another offset, or as ClickHouse prints it, depending on where the worker learned it)."""

    def utc(match: re.Match[str]) -> str:
        text = match.group(0).replace("Z", "+00:00")
        try:
            moment = datetime.fromisoformat(text)
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            return moment.astimezone(UTC).isoformat()
        except (ValueError, OverflowError):  # not a date, or beyond year 9999 in UTC: as written
            return match.group(0)

    return _INSTANT.sub(utc, reason)


def _owners(exp: Expected) -> dict[Where, str]:
    owners = {where: event_id for event_id, where in exp.accepted.items()}
    for event_id, copies in exp.duplicates.items():
        for where in copies:
            owners[where] = event_id
    return owners


def _fate(exp: Expected, where: Where) -> str:
    if where in exp.rejected:
        return f"dead-lettered: {exp.rejected[where]}"
    return "not an accepted event of the topic"


def _place(where: Where) -> str:
    return f"p{where[0]}@{where[1]}"


def _places(wheres: Iterable[Where]) -> str:
    return ", ".join(_place(w) for w in wheres)
