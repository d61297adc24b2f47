"""The raw event log in ClickHouse: rows in, EventRecords out.

Writes are idempotent: one row per event_id (ReplacingMergeTree), and each batch carries a
deduplication token derived from its Kafka coordinates, so a retried batch is a no-op.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from kpiflow.events import SalesEvent
from kpiflow.projections.records import EventRecord

RAW_COLUMNS: tuple[str, ...] = (
    "event_id", "event_type", "schema_version", "occurred_at", "source", "rep_id", "team_id",
    "lead_id", "deal_id", "customer_id", "activity_type", "direction", "channel", "checklist",
    "deal_kind", "product", "amount", "currency", "stage", "from_stage", "to_stage", "reason",
    "payload", "topic", "partition", "offset",
)  # fmt: skip

# What the engine reads, as SQL expressions: instants as integer microseconds and checklists as
# the list of criteria that are true (absent is not true), which Arrow converts much faster.
RECORD_SELECT: tuple[tuple[str, str], ...] = (
    ("event_id", "event_id"),
    ("event_type", "event_type"),
    ("occurred_us", "toUnixTimestamp64Micro(occurred_at)"),
    ("rep_id", "rep_id"),
    ("team_id", "team_id"),
    ("offset", "offset"),
    ("lead_id", "lead_id"),
    ("deal_id", "deal_id"),
    ("customer_id", "customer_id"),
    ("activity_type", "activity_type"),
    ("direction", "direction"),
    ("checklist_true", "arrayStringConcat(mapKeys(mapFilter((k, v) -> v, checklist)), '\\t')"),
    ("deal_kind", "deal_kind"),
    ("product", "product"),
    ("amount", "amount"),
    ("stage", "stage"),
    ("from_stage", "from_stage"),
    ("to_stage", "to_stage"),
)
RECORD_COLUMNS: tuple[str, ...] = tuple(name for name, _ in RECORD_SELECT)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Coordinates:
    topic: str
    partition: int
    offset: int


def raw_row(event: SalesEvent, payload: str, where: Coordinates) -> list[Any]:
    """One raw-log row for a validated event (absent fields are '')."""
    get = event.__dict__.get
    amount = get("amount")
    return [
        event.event_id,
        event.event_type,
        event.schema_version,
        event.occurred_at.astimezone(UTC),
        event.source,
        event.rep_id,
        event.team_id,
        get("lead_id") or "",
        get("deal_id") or "",
        get("customer_id") or "",
        get("activity_type") or "",
        get("direction") or "",
        get("channel") or "",
        dict(get("checklist") or {}),
        get("deal_kind") or "",
        get("product") or "",
        "" if amount is None else str(amount),
        get("currency") or "",
        get("stage") or "",
        get("from_stage") or "",
        get("to_stage") or "",
        get("reason") or "",
        payload,
        where.topic,
        where.partition,
        where.offset,
    ]


def batch_token(topic: str, ranges: dict[int, tuple[int, int]]) -> str:
    """Deduplication token of a batch: topic and per-partition offset range."""
    body = ",".join(f"{p}-{lo}-{hi}" for p, (lo, hi) in sorted(ranges.items()))
    digest = hashlib.sha1(body.encode()).hexdigest()[:16]  # noqa: S324 (not security)
    return f"raw:{topic}:{body[:200]}:{digest}"


def records_from_arrow(table) -> Iterator[EventRecord]:
    """Raw-log rows (RECORD_SELECT, as Arrow) to engine records; amounts exact."""
    cols = [table.column(name).to_pylist() for name in RECORD_COLUMNS]
    epoch, micros, dec = EPOCH, timedelta, Decimal
    for (event_id, event_type, us, rep, team, offset, lead, deal, customer, activity, direction,
         checklist, kind, product, amount, stage, from_stage, to_stage,
         ) in zip(*cols, strict=True):  # fmt: skip
        yield EventRecord(
            event_id,
            event_type,
            epoch + micros(microseconds=us),
            rep,
            team,
            offset,
            lead,
            deal,
            customer,
            activity,
            direction,
            dict.fromkeys(checklist.split("\t"), True) if checklist else {},
            kind,
            product,
            dec(amount) if amount else None,
            stage,
            from_stage,
            to_stage,
        )


SELECT_RECORDS = "SELECT " + ", ".join(f"{expr} AS {name}" for name, expr in RECORD_SELECT)


def read_all_records(store, chunk_rows: int = 200_000, on_chunk=None) -> Iterator[EventRecord]:
    """Every row of the raw log in arrival order per partition, streamed in one query.

    This is the order the live projector applies (so the engine's first-applied-wins rule picks
    the same copy of a replayed row on both paths); copies of an event_id are dropped by the
    engine. `on_chunk(rows_so_far, total)` reports progress per Arrow batch."""
    total = int(store.scalar("SELECT count() FROM {db}.raw_event_log") or 0)
    if not total:
        return
    done = 0
    for table in store.arrow_batches(
        SELECT_RECORDS + " FROM {db}.raw_event_log ORDER BY partition, offset", {}, chunk_rows
    ):
        yield from records_from_arrow(table)
        done += table.num_rows
        if on_chunk:
            on_chunk(done, total)


# How far before the newest row of the last complete read the tail window starts: longer than
# any insert takes from its DEFAULT ingested_at to being visible, so no unseen row is older.
TAIL_WINDOW_US = 120_000_000


@dataclass
class Tail:
    """Where a reader of the raw log is: per-partition offsets read, and the newest ingested_at
    (microseconds) among them, which bounds the rows worth scanning."""

    offsets: dict[int, int]
    newest_us: int | None = None


def read_tail(store, tail: Tail, limit: int = 50_000) -> tuple[list[EventRecord], Tail]:
    """Rows past the per-partition offsets, in arrival order; and the new position.

    The offsets decide what is new; the ingested_at window only lets ClickHouse skip old parts
    (skip index `raw_ingested_at`)."""
    parts = sorted(tail.offsets)
    since = (tail.newest_us - TAIL_WINDOW_US) if tail.newest_us is not None else 0
    table = store.arrow(
        SELECT_RECORDS + ", partition, toUnixTimestamp64Micro(ingested_at) AS ingested_us "
        "FROM {db}.raw_event_log "
        "WHERE ingested_at >= fromUnixTimestamp64Micro({since:Int64}, 'UTC') "
        "AND offset > if(has({parts:Array(UInt32)}, partition), "
        "arrayElement({wms:Array(Int64)}, indexOf({parts:Array(UInt32)}, partition)), -1) "
        "ORDER BY partition, offset LIMIT {limit:UInt64}",
        {"since": since, "parts": parts, "wms": [tail.offsets[p] for p in parts], "limit": limit},
    )
    records = list(records_from_arrow(table))
    offsets = dict(tail.offsets)
    newest = tail.newest_us
    if table.num_rows:
        for p, o in zip(
            table.column("partition").to_pylist(), table.column("offset").to_pylist(), strict=True
        ):
            if o > offsets.get(p, -1):
                offsets[p] = o
    if 0 < table.num_rows < limit:
        # Everything visible was read: a row not seen yet became visible after this read, so
        # its ingested_at is at most one insert's duration before the newest row read here.
        batch_newest = max(table.column("ingested_us").to_pylist())
        newest = batch_newest if newest is None else max(newest, batch_newest)
    return records, Tail(offsets, newest)


def terminal_index(store) -> dict[str, tuple[datetime, int, int]]:
    """deal_id -> (first terminal stage change instant, its partition, its offset)."""
    out: dict[str, tuple[datetime, int, int]] = {}
    for r in store.rows(
        "SELECT deal_id, min(occurred_at) AS t, argMin(partition, occurred_at) AS p, "
        "argMin(offset, occurred_at) AS o FROM {db}.raw_events "
        "WHERE event_type = 'deal.stage_changed' AND to_stage IN ('won', 'lost') GROUP BY deal_id"
    ):
        out[r["deal_id"]] = (_parse_ch_time(r["t"]), r["p"], r["o"])
    return out


ID_PREFIX_SQL = (
    "reinterpretAsUInt64(reverse(unhex(substring(replaceAll(event_id, '-', ''), 1, 16))))"
)


def id_prefix(event_id: str) -> int:
    """The first 64 bits of an event_id UUID, as ClickHouse's ID_PREFIX_SQL computes them."""
    return int(event_id.replace("-", "")[:16], 16)


def id_prefixes(store) -> set[int]:
    """Prefixes of every event_id in the raw log: a compact filter (about 60 bytes per event)
    that says which ids of a batch may already be there; only those are looked up."""
    table = store.arrow(f"SELECT {ID_PREFIX_SQL} AS h FROM {{db}}.raw_event_log")  # noqa: S608 (constant)
    return set(table.column("h").to_numpy().tolist()) if table.num_rows else set()


def existing_copies(store, event_ids: Sequence[str]) -> dict[str, tuple[str, int, int]]:
    """event_id -> (topic, partition, offset) of the copy already in the raw log."""
    if not event_ids:
        return {}
    return {
        r["event_id"]: (r["topic"], r["partition"], r["offset"])
        for r in store.rows(
            "SELECT event_id, any(topic) AS topic, min(partition) AS partition, min(offset) AS "
            "offset "
            "FROM {db}.raw_event_log WHERE event_id IN {ids:Array(String)} GROUP BY event_id",
            {"ids": list(event_ids)},
        )
    }


def _parse_ch_time(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)
