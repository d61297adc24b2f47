"""The bulk build of a KPI engine from the raw log, without a Python object per activity.

Most events are activities, and all an activity adds to the engine is one count per (local
date, team, rep, activity type, direction) and its event id. So a build reads:
1. every other event (and every copy of a duplicated event_id) as an `EventRecord`, in arrival
   order per partition, in chunks: the engine's per-record path, first applied wins;
2. the activities counted per local date by ClickHouse (`KpiEngine.apply_activity_counts`),
   with the zone's UTC offsets computed by the engine's calendar and passed as parameters, so
   the local date is the one the per-record path gives;
3. their event ids as two uint64 columns (`KpiEngine.add_unique_ids`), in a few scans.
The activities of 2 and 3 are exactly the activity rows whose event_id occurs once in the raw
log, so none of them is also read in 1 and the engine ends in the state that applying every
row in order would give. The build covers the raw log up to its `end` position (per partition,
the highest offset when it started); rows past it are the live tail's.

A raw log with more duplicated ids than `MAX_DUPLICATES` (deduplication off, say) is read the
per-record way throughout: slower, the same rows.
"""

from __future__ import annotations

import logging

import numpy as np

from kpiflow.projections.engine import KpiEngine
from kpiflow.projections.engine.seen import CANONICAL_UUID_SQL
from kpiflow.projections.gc_pause import gc_paused
from kpiflow.projections.rawlog import (
    Tail,
    position_params,
    read_range,
    records_from_arrow,
    upto_sql,
)

log = logging.getLogger("kpiflow.projector")

MAX_DUPLICATES = 10_000
ID_SCANS = 4  # the activities' ids are read in this many scans (the peak against the time)
ACTIVITY = "activity.logged"
_UPTO = upto_sql("end")
_COUNTED = (
    "event_type = 'activity.logged' AND event_id NOT IN {duplicates:Array(String)} AND " + _UPTO
)
_HALF = "reinterpretAsUInt64(reverse(unhex(substring(digits, {at}, 16))))"
_SPAN_SQL = (  # noqa: S608 (constants)
    "SELECT count() AS n, min(toUnixTimestamp64Micro(occurred_at)) AS first, "
    "max(toUnixTimestamp64Micro(occurred_at)) AS last FROM {db}.raw_event_log WHERE "
) + _COUNTED
# Activities per local day number: the zone's offset at each instant from the engine's table
# (`{{starts}}`, `{{offsets}}`); `{links}` adds what custom activity KPIs filter on.
_COUNTS_SQL = (
    "SELECT intDiv(us + {{offsets:Array(Int64)}}[arrayCount(x -> x <= us, "  # noqa: S608 (constants)
    "{{starts:Array(Int64)}}) + 1], 86400000000) AS day_number, team_id, rep_id, "
    "activity_type, direction{links}, count() AS n FROM (SELECT "
    "toUnixTimestamp64Micro(occurred_at) AS us, team_id, rep_id, activity_type, "
    "direction{links} FROM {{db}}.raw_event_log WHERE "
    + _COUNTED.replace("{", "{{").replace("}", "}}")
    + ") GROUP BY day_number, team_id, rep_id, activity_type, direction{links}"
)
_IDS_SQL = (
    f"SELECT {_HALF.format(at=1)} AS hi, {_HALF.format(at=17)} AS lo FROM (SELECT "  # noqa: S608 (constants)
    "replaceAll(event_id, '-', '') AS digits FROM {db}.raw_event_log WHERE "
    f"{_COUNTED} AND partition IN {{partitions:Array(UInt32)}} "
    "AND match(event_id, {canonical:String}))"
)
_OTHER_IDS_SQL = (
    "SELECT event_id AS other FROM {db}.raw_event_log WHERE "  # noqa: S608 (constants)
    f"{_COUNTED} AND NOT match(event_id, {{canonical:String}})"
)


class BulkBuild:
    """One engine's build from the raw log, in bounded steps (`step()` until `finished`)."""

    def __init__(self, store, engine: KpiEngine, chunk: int = 100_000) -> None:
        if engine.event_count:
            raise ValueError("a bulk build starts from a new engine")
        self.store = store
        self.engine = engine
        self.chunk = chunk
        self.attributes = bool(engine.definition.kpis)
        self.end = Tail({})
        self.total = 0
        self.done = 0
        self.finished = False
        self._planned = False
        self._per_record = False
        self._duplicates: list[str] = []
        self._position = Tail({})
        self._records_done = False

    def _params(self) -> dict:
        return {**position_params("end", self.end), "duplicates": self._duplicates}

    def _plan(self) -> None:
        rows = self.store.rows(
            "SELECT partition, max(offset) AS o, count() AS n FROM {db}.raw_event_log "
            "GROUP BY partition"
        )
        self.end = Tail({int(r["partition"]): int(r["o"]) for r in rows})
        self.total = sum(int(r["n"]) for r in rows)
        duplicates = self.store.rows(
            "SELECT event_id FROM {db}.raw_event_log GROUP BY event_id HAVING count() > 1 "
            "LIMIT {cap:UInt64}",
            {"cap": MAX_DUPLICATES + 1},
        )
        self._per_record = len(duplicates) > MAX_DUPLICATES
        if self._per_record:
            log.warning(
                "the raw log holds more than %s duplicated event ids: building from every row "
                "one by one (slower, the same rows)",
                MAX_DUPLICATES,
            )
        else:
            self._duplicates = [r["event_id"] for r in duplicates]
        self._planned = True
        self.store.release_memory()  # the duplicate-id scan's (300 MB at 5M events, embedded)

    def step(self) -> int:
        """One unit of work; returns the raw-log rows it covered."""
        if not self._planned:
            self._plan()
        if not self._records_done:
            covered = self._records()
        elif self._per_record:
            covered = 0
            self.finished = True
        else:
            covered = self._activities()
            self.finished = True
        self.done += covered
        return covered

    def _records(self) -> int:
        where = (
            ""
            if self._per_record
            else ("(event_type != 'activity.logged' OR event_id IN {duplicates:Array(String)})")
        )
        records, self._position = read_range(
            self.store,
            self._position,
            self.chunk,
            self.attributes,
            where=" AND ".join(w for w in (where, _UPTO) if w),
            params=self._params(),
        )
        self.engine.apply(records)
        if len(records) < self.chunk:
            self._records_done = True
        return len(records)

    def _activities(self) -> int:
        store, params = self.store, self._params()
        span = store.rows(_SPAN_SQL, params)[0]
        if not int(span["n"]):
            return 0
        starts, offsets = self.engine.offset_changes(int(span["first"]), int(span["last"]))
        sql = _COUNTS_SQL.format(
            links=", source, lead_id, deal_id" if self.engine.counts_activity_links else ""
        )
        table = store.arrow(sql, {**params, "starts": starts, "offsets": offsets})
        columns = [table.column(i).to_pylist() for i in range(table.num_columns)]
        self.engine.apply_activity_counts(zip(*columns, strict=True))
        canonical = {**params, "canonical": CANONICAL_UUID_SQL}
        # the ids in ID_SCANS scans of a share of the partitions each, the engine's memory
        # given back after each: one scan of them all held about 370 MB more at its peak for
        # 72 MB of ids (5M events); each scan reads the whole raw log's id column again
        his, los = [], []
        partitions = sorted(self.end.offsets)
        for k in range(ID_SCANS):
            share = partitions[k::ID_SCANS]
            if not share:
                continue
            ids = store.arrow(_IDS_SQL, {**canonical, "partitions": share})
            his.append(ids.column("hi").to_numpy().copy())  # not a view: the table goes now
            los.append(ids.column("lo").to_numpy().copy())
            del ids
            store.release_memory()
        others = store.arrow(_OTHER_IDS_SQL, canonical).column("other").to_pylist()
        store.release_memory()
        hi, lo = np.concatenate(his), np.concatenate(los)  # span["n"] > 0: one share at least
        del his, los
        self.engine.add_unique_ids(hi, lo, others)
        return int(span["n"])


def build(store, engine: KpiEngine, chunk: int = 100_000, on_progress=None) -> Tail:
    """Build `engine` from the whole raw log in this process; returns the position covered."""
    bulk = BulkBuild(store, engine, chunk)
    while not bulk.finished:
        with gc_paused():  # as the projector steps it
            bulk.step()
        if on_progress:
            on_progress(bulk.done, bulk.total)
    return bulk.end


MICROSECONDS_PER_DAY = 86_400_000_000


def apply_table(engine: KpiEngine, table) -> int:
    """Apply a batch of raw-log rows read as Arrow (the live tail) as `engine.apply` of their
    records would, without a record per activity: the ids are claimed in arrival order; when
    every row is a first copy, the activities are counted per local date here (Arrow groups
    them, the zone's offsets from the engine) and only the other events become records. A
    batch with a copy of an id seen before goes record by record. Returns the rows applied."""
    import pyarrow as pa
    import pyarrow.compute as pc

    rows = table.num_rows
    if not rows:
        return 0
    first = engine.claim(table.column("event_id").to_pylist())
    if not all(first):
        engine.apply_claimed(list(records_from_arrow(table)), first)
        return rows
    activity = pc.equal(table.column("event_type").cast(pa.string()), ACTIVITY)
    others = table.filter(pc.invert(activity))
    if others.num_rows:
        engine.apply_claimed(list(records_from_arrow(others)), [True] * others.num_rows)
    activities = table.filter(activity)
    if not activities.num_rows:
        return rows
    us = activities.column("occurred_us").to_numpy()
    starts, offsets = engine.offset_changes(int(us.min()), int(us.max()))
    at = np.searchsorted(np.array(starts, dtype=np.int64), us, side="right")
    days = (us + np.array(offsets, dtype=np.int64)[at]) // MICROSECONDS_PER_DAY
    keys = ["day_number", "team_id", "rep_id", "activity_type", "direction"]
    if engine.counts_activity_links:
        keys += ["source", "lead_id", "deal_id"]
    columns = {"day_number": pa.array(days)}
    columns.update({k: activities.column(k).cast(pa.string()) for k in keys[1:]})
    grouped = pa.table(columns).group_by(keys).aggregate([("day_number", "count")])
    counted = [grouped.column(k).to_pylist() for k in keys]
    counted.append(grouped.column("day_number_count").to_pylist())
    engine.apply_activity_counts(zip(*counted, strict=True))
    return rows
