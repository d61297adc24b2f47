"""The raw event log in ClickHouse: rows in, EventRecords out.

Writes are idempotent: one row per event_id (ReplacingMergeTree), and each batch carries a
deduplication token derived from its Kafka coordinates, so a retried batch is a no-op.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from dataclasses import fields as dataclass_fields
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from kpiflow.events import SalesEvent
from kpiflow.events.deals import TERMINAL_STAGES
from kpiflow.projections.records import EventRecord


@dataclass(frozen=True, slots=True)
class RawField:
    """One column of the raw log that comes from the event.

    `stored(get)` is the value inserted (`get` is the event's `__dict__.get`; absent optional
    fields are ''). `record` names the `EventRecord` attribute the column feeds (None: the engine
    does not read it), `select` the SQL the engine reads it with (default: the column itself)
    and `alias` its name in that read (never a column's name: no alias shadows a column),
    `decode` how a whole Arrow column of that select becomes record values (default: as is)."""

    name: str
    stored: Callable[[Callable[[str], Any]], Any]
    record: str | None = None
    select: str | None = None
    decode: Callable[[list], list] | None = None
    alias: str | None = None
    arrow: str = "string"  # the Arrow type the insert sends it as (a key of `_arrow_types`)

    @property
    def read_as(self) -> str:
        return self.alias or self.record or self.name


def _opt(name: str) -> Callable[[Callable[[str], Any]], Any]:
    return lambda get: get(name) or ""


def _req(name: str) -> Callable[[Callable[[str], Any]], Any]:
    return lambda get: get(name)


def _instants(us: list[int]) -> list[datetime]:
    epoch, micros = EPOCH, timedelta
    return [epoch + micros(microseconds=u) for u in us]


def _checklists(texts: list[str]) -> list[dict[str, bool]]:
    return [dict.fromkeys(t.split("\t"), True) if t else {} for t in texts]


def _amounts(texts: list[str]) -> list[Decimal | None]:
    return [Decimal(t) if t else None for t in texts]


def _amount(get: Callable[[str], Any]) -> str:
    amount = get("amount")
    return "" if amount is None else str(amount)  # exact: the decimal string, never a float


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# The event's fields as the raw log stores them (migration 0001 declares the same columns, in
# this order): the one list the insert, the column names, the engine's select and its records
# are derived from. Instants are read as integer microseconds and checklists as the criteria
# that are true (absent is not true), which Arrow converts much faster.
EVENT_FIELDS: tuple[RawField, ...] = (
    RawField("event_id", _req("event_id"), "event_id"),
    RawField("event_type", _req("event_type"), "event_type"),
    RawField("schema_version", _req("schema_version"), arrow="uint16"),
    RawField(
        "occurred_at",
        lambda get: get("occurred_at").astimezone(UTC),
        "occurred_at",
        "toUnixTimestamp64Micro(occurred_at)",
        _instants,
        "occurred_us",
        "instant",
    ),
    RawField("source", _req("source"), "source"),
    RawField("rep_id", _req("rep_id"), "rep_id"),
    RawField("team_id", _req("team_id"), "team_id"),
    RawField("lead_id", _opt("lead_id"), "lead_id"),
    RawField("deal_id", _opt("deal_id"), "deal_id"),
    RawField("customer_id", _opt("customer_id"), "customer_id"),
    RawField("activity_type", _opt("activity_type"), "activity_type"),
    RawField("direction", _opt("direction"), "direction"),
    RawField("channel", _opt("channel"), "channel"),
    RawField(
        "checklist",
        lambda get: dict(get("checklist") or {}),
        "checklist",
        "arrayStringConcat(mapKeys(mapFilter((k, v) -> v, checklist)), '\\t')",
        _checklists,
        "checklist_true",
        "checklist",
    ),
    RawField("deal_kind", _opt("deal_kind"), "deal_kind"),
    RawField("product", _opt("product"), "product"),
    RawField("amount", _amount, "amount", None, _amounts),
    RawField("currency", _opt("currency"), "currency"),
    RawField("stage", _opt("stage"), "stage"),
    RawField("from_stage", _opt("from_stage"), "from_stage"),
    RawField("to_stage", _opt("to_stage"), "to_stage"),
    RawField("reason", _opt("reason")),
)
# Where the event came from: the original JSON and its Kafka coordinates (`seq` of a record is
# its offset: arrival order within the partition).
PLACEMENT_COLUMNS: tuple[str, ...] = ("payload", "topic", "partition", "offset")
RAW_COLUMNS: tuple[str, ...] = tuple(f.name for f in EVENT_FIELDS) + PLACEMENT_COLUMNS

_BY_RECORD = {f.record: f for f in EVENT_FIELDS if f.record}
_SEQ = RawField("offset", _req("offset"), "seq")
# The engine's read, in EventRecord's own field order (records are built positionally).
RECORD_FIELDS: tuple[RawField, ...] = tuple(
    _SEQ if f.name == "seq" else _BY_RECORD[f.name] for f in dataclass_fields(EventRecord)
)
RECORD_COLUMNS: tuple[str, ...] = tuple(f.record or f.name for f in RECORD_FIELDS)
SELECT_RECORDS = "SELECT " + ", ".join(
    f"{f.select or f.name} AS {f.read_as}" for f in RECORD_FIELDS
)
# Only custom KPI filters read an event's source and a lead's channel: a definition without
# custom KPIs reads them as '' (about a fifth less to read and decode in a rebuild).
ATTRIBUTE_COLUMNS = frozenset(("source", "channel"))
SELECT_RECORDS_LEAN = "SELECT " + ", ".join(
    f"'' AS {f.read_as}" if f.name in ATTRIBUTE_COLUMNS else f"{f.select or f.name} AS {f.read_as}"
    for f in RECORD_FIELDS
)


def select_records(attributes: bool = True) -> str:
    """The engine's read; `attributes=False` leaves out what only custom KPIs use."""
    return SELECT_RECORDS if attributes else SELECT_RECORDS_LEAN


class Placed(Protocol):
    """An accepted event with its payload and Kafka coordinates (ingest's triage yields these)."""

    @property
    def event(self) -> SalesEvent: ...
    @property
    def payload(self) -> str: ...
    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...


def row(event: SalesEvent, payload: str, topic: str, partition: int, offset: int) -> list[Any]:
    """One raw-log row (RAW_COLUMNS) for a validated event."""
    get = event.__dict__.get
    return [f.stored(get) for f in EVENT_FIELDS] + [payload, topic, partition, offset]


def _arrow_types() -> dict[str, Any]:
    import pyarrow as pa

    return {
        "string": pa.string(),
        "uint16": pa.uint16(),
        "uint32": pa.uint32(),
        "uint64": pa.uint64(),
        "instant": pa.timestamp("us", tz="UTC"),
        "checklist": pa.map_(pa.string(), pa.bool_()),
    }


# Where the event came from, as the insert sends it.
_PLACEMENT_ARROW = (
    ("payload", "string"), ("topic", "string"), ("partition", "uint32"), ("offset", "uint64"),
)  # fmt: skip


def arrow_rows(placed: Sequence[Placed]):
    """The raw-log rows of accepted events as a pyarrow Table (RAW_COLUMNS), column by column:
    the same values as `row`, which the insert no longer serialises one by one."""
    import pyarrow as pa

    types = _arrow_types()
    gets = [p.event.__dict__.get for p in placed]
    arrays = [pa.array([f.stored(get) for get in gets], type=types[f.arrow]) for f in EVENT_FIELDS]
    for name, kind in _PLACEMENT_ARROW:
        arrays.append(pa.array([getattr(p, name) for p in placed], type=types[kind]))
    return pa.Table.from_arrays(arrays, names=list(RAW_COLUMNS))


def insert(store, placed: Sequence[Placed], token: str | None = None):
    """Insert accepted events into the raw log; `token` makes a retried batch a no-op. Returns
    the rows inserted (`arrow_rows`), None when there were none."""
    if not placed:
        return None
    return insert_rows(store, arrow_rows(placed), token)


def insert_rows(store, table, token: str | None = None):
    """`insert` of rows already built (`arrow_rows`); returns them."""
    store.insert_arrow("raw_event_log", table, token)
    return table


@dataclass(frozen=True)
class Inserted:
    """A batch the ingest put in the raw log: its rows as inserted (`arrow_rows`, None when it
    had none) and, per partition, the range of offsets it consumed. The range includes what the
    batch did not insert (dead letters, copies of events already held): no row of the raw log
    at those offsets is missing from `rows` but a copy of a message the batch dropped."""

    rows: Any
    ranges: dict[int, tuple[int, int]]


def inserted(rows, ranges: dict[int, tuple[int, int]]) -> Inserted:
    """An `Inserted` of a batch's rows (`insert`'s return) that keeps only the columns the
    engine's read uses: not the payloads, the bulk of a row, held until the next step."""
    keep = [f.name for f in RECORD_FIELDS] + ["partition"]
    return Inserted(rows.select(keep) if rows is not None else None, ranges)


def _true_keys(checklists: list) -> list[str]:
    # the select of the checklist column (arrayStringConcat of the true keys), in Python
    return ["\t".join(k for k, v in pairs if v) if pairs else "" for pairs in checklists]


def read_of_inserted(table, attributes: bool = True):
    """What `read_tail_table` returns for rows as inserted (an `arrow_rows` table), without
    asking ClickHouse: the engine's read plus partition, in (partition, offset) order. Not
    ingested_us: ClickHouse stamps that at the insert."""
    import pyarrow as pa

    columns, names = [], []
    for f in RECORD_FIELDS:
        column = table.column(f.name)
        if f.name == "occurred_at":
            column = column.cast(pa.int64())  # toUnixTimestamp64Micro
        elif f.name == "checklist":
            column = pa.array(_true_keys(column.to_pylist()), type=pa.string())
        elif f.name in ATTRIBUTE_COLUMNS and not attributes:
            column = pa.array([""] * table.num_rows, type=pa.string())
        columns.append(column)
        names.append(f.read_as)
    columns.append(table.column("partition"))
    names.append("partition")
    read = pa.table(columns, names=names)
    return read.sort_by([("partition", "ascending"), ("seq", "ascending")])


def batch_token(topic: str, ranges: dict[int, tuple[int, int]]) -> str:
    """Deduplication token of a batch: topic and per-partition offset range."""
    body = ",".join(f"{p}-{lo}-{hi}" for p, (lo, hi) in sorted(ranges.items()))
    digest = hashlib.sha1(body.encode()).hexdigest()[:16]  # noqa: S324 (not security)
    return f"raw:{topic}:{body[:200]}:{digest}"


def records_from_arrow(table) -> Iterator[EventRecord]:
    """Raw-log rows (SELECT_RECORDS, as Arrow) to engine records; amounts exact."""
    cols = [
        f.decode(column) if f.decode else column
        for f, column in ((f, table.column(f.read_as).to_pylist()) for f in RECORD_FIELDS)
    ]
    for values in zip(*cols, strict=True):
        yield EventRecord(*values)


def read_all_records(
    store, chunk_rows: int = 200_000, on_chunk=None, attributes: bool = True
) -> Iterator[EventRecord]:
    """Every row of the raw log in arrival order per partition, streamed in one query.

    This is the order the live projector applies (so the engine's first-applied-wins rule picks
    the same copy of a replayed row on both paths); copies of an event_id are dropped by the
    engine. `on_chunk(rows_so_far, total)` reports progress per Arrow batch."""
    total = int(store.scalar("SELECT count() FROM {db}.raw_event_log") or 0)
    if not total:
        return
    done = 0
    for table in store.arrow_batches(
        select_records(attributes) + " FROM {db}.raw_event_log ORDER BY partition, offset",
        {},
        chunk_rows,
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


def upto_sql(name: str) -> str:
    """SQL true for rows at or before a position, given as the parameters of
    `position_params(name, tail)` (a partition not in it: no row)."""
    return (
        f"offset <= if(has({{{name}_parts:Array(UInt32)}}, partition), arrayElement("
        f"{{{name}_offsets:Array(Int64)}}, indexOf({{{name}_parts:Array(UInt32)}}, partition)), -1)"
    )


def position_params(name: str, tail: Tail) -> dict:
    parts = sorted(tail.offsets)
    return {f"{name}_parts": parts, f"{name}_offsets": [tail.offsets[p] for p in parts]}


_AFTER = (
    "offset > if(has({parts:Array(UInt32)}, partition), "
    "arrayElement({wms:Array(Int64)}, indexOf({parts:Array(UInt32)}, partition)), -1)"
)


def _read_after(store, after: Tail, limit: int, attributes: bool, where: str, params: dict):
    parts = sorted(after.offsets)
    return store.arrow(
        select_records(attributes)
        + ", partition, toUnixTimestamp64Micro(ingested_at) AS ingested_us "
        f"FROM {{db}}.raw_event_log WHERE {where} AND {_AFTER} "  # noqa: S608 (constants)
        "ORDER BY partition, offset LIMIT {limit:UInt64}",
        {**params, "parts": parts, "wms": [after.offsets[p] for p in parts], "limit": limit},
    )


def advanced(offsets: dict[int, int], table) -> dict[int, int]:
    """Per-partition offsets moved past the rows of `table` (a read with partition and seq)."""
    out = dict(offsets)
    if table.num_rows:
        for p, o in zip(
            table.column("partition").to_pylist(), table.column("seq").to_pylist(), strict=True
        ):
            if o > out.get(p, -1):
                out[p] = o
    return out


def read_range(
    store,
    after: Tail,
    limit: int,
    attributes: bool = True,
    where: str = "1",
    params: dict | None = None,
) -> tuple[list[EventRecord], Tail]:
    """Rows past `after` that pass `where` (SQL of constants and bound `params`), in arrival
    order per partition, at most `limit`; and the position after them."""
    table = _read_after(store, after, limit, attributes, where, params or {})
    return list(records_from_arrow(table)), Tail(advanced(after.offsets, table), after.newest_us)


def read_tail_table(store, tail: Tail, limit: int = 50_000, attributes: bool = True):
    """Rows past the per-partition offsets, in arrival order (an Arrow table of the engine's
    read, plus partition); and the new position.

    The offsets decide what is new; the ingested_at window only lets ClickHouse skip old parts
    (skip index `raw_ingested_at`)."""
    since = (tail.newest_us - TAIL_WINDOW_US) if tail.newest_us is not None else 0
    table = _read_after(
        store,
        tail,
        limit,
        attributes,
        "ingested_at >= fromUnixTimestamp64Micro({since:Int64}, 'UTC')",
        {"since": since},
    )
    newest = tail.newest_us
    if 0 < table.num_rows < limit:
        # Everything visible was read: a row not seen yet became visible after this read, so
        # its ingested_at is at most one insert's duration before the newest row read here.
        batch_newest = max(table.column("ingested_us").to_pylist())
        newest = batch_newest if newest is None else max(newest, batch_newest)
    return table, Tail(advanced(tail.offsets, table), newest)


def terminal_index(store) -> dict[str, tuple[datetime, int, int]]:
    """deal_id -> (first terminal stage change instant, its partition, its offset).

    "First" as `kpiflow.events.deals.first_terminal` orders them: by (occurred_at, partition,
    offset)."""
    out: dict[str, tuple[datetime, int, int]] = {}
    for r in store.rows(
        "SELECT deal_id, min(occurred_at) AS t, "
        "argMin(partition, (occurred_at, partition, offset)) AS p, "
        "argMin(offset, (occurred_at, partition, offset)) AS o FROM {db}.raw_events "
        "WHERE event_type = 'deal.stage_changed' AND to_stage IN {terminal:Array(String)} "
        "GROUP BY deal_id",
        {"terminal": list(TERMINAL_STAGES)},
    ):
        out[r["deal_id"]] = (_parse_ch_time(r["t"]), r["p"], r["o"])
    return out


ID_PREFIX_SQL = (
    "reinterpretAsUInt64(reverse(unhex(substring(replaceAll(event_id, '-', ''), 1, 16))))"
)


def id_prefix(event_id: str) -> int:
    """The first 64 bits of an event_id UUID, as ClickHouse's ID_PREFIX_SQL computes them."""
    return int(event_id.replace("-", "")[:16], 16)


def id_prefixes(store):
    """Prefixes of every event_id in the raw log, as a uint64 numpy array: a compact filter
    (8 bytes per event) that says which ids of a batch may already be there; only those are
    looked up."""
    import numpy as np

    table = store.arrow(f"SELECT {ID_PREFIX_SQL} AS h FROM {{db}}.raw_event_log")  # noqa: S608 (constant)
    if not table.num_rows:
        return np.empty(0, dtype=np.uint64)
    return table.column("h").to_numpy().astype(np.uint64)


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
