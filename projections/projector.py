"""Keeps the KPI projections of every active definition version up to date.

It feeds the pure KPI engine micro-batches: the batches this worker's ingest hands it as they
were inserted, when they continue where a version stands, else the raw event log's tail by
(partition, offset); a version it has not built yet is first rebuilt from the whole raw log in
chunks (the same engine, fed in bulk). Every step does a bounded amount of work, so ingestion
is never blocked for long. The projections are a function of the raw log: after a crash, the
projector starts over from it, so nothing the raw log holds is lost or counted twice.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from zoneinfo import ZoneInfo

from kpiflow.projections import achievements, snapshots, versions
from kpiflow.projections.allocators import release_memory
from kpiflow.projections.bulk import BulkBuild, apply_table
from kpiflow.projections.definitions import Definition
from kpiflow.projections.engine import KpiEngine
from kpiflow.projections.gc_pause import gc_paused
from kpiflow.projections.rawlog import (
    Inserted,
    Tail,
    advanced,
    read_of_inserted,
    read_tail_table,
)
from kpiflow.projections.writer import RevisionClock, write_changes, write_coaching

log = logging.getLogger("kpiflow.projector")

BULK_CHUNK = 100_000
TAIL_LIMIT = 50_000
# A built version applies the batches the ingest hands it without reading them back, but reads
# its tail at least this often anyway: that read moves the position's ingested_at window (which
# lets ClickHouse skip old parts) and checks the raw log itself.
READ_SECONDS = 5.0


def _cover(covered: dict[int, int], ranges: dict[int, tuple[int, int]]) -> None:
    """Move `covered` (partition -> offset) past a batch's consumed offset ranges."""
    for p, (_, hi) in ranges.items():
        covered[p] = max(covered.get(p, -1), hi)


@dataclass
class VersionState:
    definition: Definition
    engine: KpiEngine
    watermark: Tail = field(default_factory=lambda: Tail({}))
    built: bool = False
    bulk_done: int = 0
    bulk_total: int = 0
    bulk: BulkBuild | None = None
    saved_at: float = 0.0  # monotonic time of the last snapshot
    saved_events: int = -1  # engine.event_count at the last snapshot
    # per partition: the offset up to which every raw-log row is applied (at least the
    # watermark's; past it when the last batches ended in messages the raw log does not hold)
    covered: dict[int, int] = field(default_factory=dict)
    read_at: float = 0.0  # monotonic time of the last tail read that found rows


class Projector:
    def __init__(
        self,
        store,
        tz: ZoneInfo,
        default: Definition | None = None,
        snapshot_seconds: float = 300.0,
    ) -> None:
        self.store = store
        self.tz = tz
        self.snapshot_seconds = snapshot_seconds  # 0: snapshots off (none loaded or saved)
        self.default = default  # version 1 when none exists yet (the worker's exchange rates)
        self.clock = RevisionClock()
        self.states: dict[int, VersionState] = {}
        # after a step: every version built and its tail read to the end (what was visible
        # then); no use stepping again before new rows come
        self.caught_up = False
        # sync_versions/reset (the projector's thread) against progress (the state endpoint)
        self._lock = threading.Lock()

    def reset(self) -> None:
        """Forget every version's state: the next sync rebuilds them from the raw log (a new
        leadership, or after a failed step)."""
        with self._lock:
            self.states.clear()

    @property
    def has_versions(self) -> bool:
        return bool(self.states)

    # -- lifecycle ------------------------------------------------------------------------
    def sync_versions(self) -> None:
        """Pick up versions registered (replay) or retired since the last call."""
        if self.default is not None:
            active = versions.active_rows(self.store, self.default)
        else:
            active = versions.active_rows(self.store)
        with self._lock:
            for number in list(self.states):
                if number not in active:
                    del self.states[number]
            new = [row for number, row in active.items() if number not in self.states]
        # outside the lock (may take seconds); only new versions' bodies are parsed
        started = {row["version"]: self._start(versions.load_definition(row)) for row in new}
        with self._lock:
            self.states.update(started)

    def _start(self, definition: Definition) -> VersionState:
        """A version's state: from its snapshot when there is a usable one, else to build."""
        found = None
        if self.snapshot_seconds:  # snapshots off: nothing read, nothing to give back
            found = snapshots.load(self.store, definition, self.tz)
            release_memory(self.store)
        if found is not None:
            state = VersionState(definition, found.engine, found.position, built=True)
            state.bulk_done = state.bulk_total = found.engine.event_count
            state.saved_at, state.saved_events = time.monotonic(), found.engine.event_count
            return state
        log.info("projector: building definition version %s from the raw log", definition.version)
        return VersionState(definition, KpiEngine(definition, self.tz))

    def step(self, inserted: Sequence[Inserted] = ()) -> int:
        """One bounded unit of work: a bulk chunk of the first unbuilt version (a replay), and
        one tail batch of every built version, so live projections keep moving during a
        replay. `inserted`: the batches this worker's ingest put in the raw log since the last
        step, in order; a built version applies them as they are when they continue where it
        stands, else it reads its tail (which holds them). Returns the number of events
        applied (0 = idle); `caught_up` says whether there is more to do right away."""
        applied = 0
        caught_up = True
        unbuilt = [s for s in self.states.values() if not s.built]
        if unbuilt:
            applied += self._bulk_chunk(unbuilt[0])
            caught_up = False
        for state in self.states.values():
            if state.built and state not in unbuilt:
                if self._continues(state, inserted):
                    read = self._apply_inserted(state, inserted)
                else:
                    read = self._tail(state, inserted)
                applied += read
                caught_up = caught_up and read < TAIL_LIMIT
                if self.snapshot_seconds and (
                    time.monotonic() - state.saved_at >= self.snapshot_seconds
                ):
                    self._save(state)
        self.caught_up = caught_up
        return applied

    def _save(self, state: VersionState) -> None:
        """Snapshot a built version if it applied events since its last one. A failure is
        logged, never fatal: without a snapshot a restart rebuilds."""
        state.saved_at = time.monotonic()
        if state.engine.event_count == state.saved_events:
            return
        try:
            snapshots.save(self.store, state.definition, self.tz, state.engine, state.watermark)
            state.saved_events = state.engine.event_count
            release_memory(self.store)
        except Exception:  # noqa: BLE001
            log.exception(
                "projector: saving a snapshot of version %s failed; the next restart rebuilds it "
                "unless a later one succeeds",
                state.definition.version,
            )

    # -- work ------------------------------------------------------------------------------
    def _bulk_chunk(self, state: VersionState) -> int:
        # One bounded step of the bulk build (projections/bulk.py): the records of a chunk, or
        # the activities counted by ClickHouse. It covers the raw log up to where it stood when
        # the build began; the tail goes on from there.
        with gc_paused():  # its objects live on: no collector passes over them on the way
            covered = self._bulk_step(state)
        release_memory(self.store)  # what the allocators kept from the step's scans
        return covered

    def _bulk_step(self, state: VersionState) -> int:
        if state.bulk is None:
            state.bulk = BulkBuild(self.store, state.engine, BULK_CHUNK)
        bulk = state.bulk
        covered = bulk.step()
        state.bulk_total = bulk.total
        state.bulk_done = bulk.done
        if bulk.finished:
            state.watermark = bulk.end
            state.bulk = None
            upserts, deletes = state.engine.take_changes()
            deletes = [*deletes, *self._stale_keys(state.definition.version, upserts)]
            write_changes(self.store, state.definition.version, upserts, deletes, self.clock)
            self._write_coaching(state, rebuilt=True)
            state.built = True
            self._mark_built(state.definition)
            log.info(
                "projector: version %s built from %s raw rows (%s events)",
                state.definition.version,
                state.bulk_done,
                state.engine.event_count,
            )
            if self.snapshot_seconds:
                self._save(state)
        return covered

    def _stale_keys(self, version: int, upserts) -> list[tuple]:
        """Rows stored for `version` that a build from the whole raw log no longer produces.

        A crash can fall between the raw-log insert of an event that moves a row (a late, earlier
        qualifying assessment, say) and the projector writing that move; the rebuild after the
        restart then writes the new row, and this tombstones the old one."""
        fresh = {
            (r.kpi, r.grain, r.period_start.isoformat(), r.dimension_kind, r.dimension)
            for r in upserts
        }
        stored = self.store.rows(
            "SELECT kpi, grain, toString(period_start) AS p, dimension_kind, dimension "
            "FROM {db}.kpi_values_all_versions WHERE definition_version = {v:UInt32}",
            {"v": version},
        )
        return [
            (r["kpi"], r["grain"], date.fromisoformat(r["p"]), r["dimension_kind"], r["dimension"])
            for r in stored
            if (r["kpi"], r["grain"], r["p"], r["dimension_kind"], r["dimension"]) not in fresh
        ]

    def _mark_built(self, definition: Definition) -> None:
        # a replay says which achievements still hold under the version it built
        achievements.check_version(self.store, definition.version)
        rows = {r["version"]: r for r in versions.list_versions(self.store)}
        status = rows.get(definition.version, {}).get("status")
        if status == "building":
            versions.set_status(self.store, definition, "ready")
        if versions.live_version(self.store) is None:
            versions.promote(self.store, definition.version, "first build")

    def _tail(self, state: VersionState, inserted: Sequence[Inserted] = ()) -> int:
        table, watermark = read_tail_table(
            self.store, state.watermark, TAIL_LIMIT, bool(state.definition.kpis)
        )
        covered = state.covered
        for p, offset in watermark.offsets.items():
            covered[p] = max(covered.get(p, -1), offset)
        if table.num_rows < TAIL_LIMIT:
            # read to the end: that holds every row of the batches inserted before the read
            for batch in inserted:
                _cover(covered, batch.ranges)
        if not table.num_rows:
            return 0
        self._apply(state, table)
        state.watermark = watermark
        state.read_at = time.monotonic()
        return table.num_rows

    def _continues(self, state: VersionState, inserted: Sequence[Inserted]) -> bool:
        """Whether the inserted batches take up where the version stands in every partition
        they touch (nothing of the raw log in between), and no read is due."""
        if not inserted or time.monotonic() - state.read_at >= READ_SECONDS:
            return False
        covered = dict(state.covered)
        for batch in inserted:
            if any(lo > covered.get(p, -1) + 1 for p, (lo, _) in batch.ranges.items()):
                return False
            _cover(covered, batch.ranges)
        return True

    def _apply_inserted(self, state: VersionState, inserted: Sequence[Inserted]) -> int:
        """Apply the inserted batches as the tail read would return them: the rows past what
        is applied (a batch read again after a rebalance holds rows applied before), in
        (partition, offset) order. The watermark's ingested_at stays: ClickHouse stamped it."""
        import pyarrow as pa
        import pyarrow.compute as pc

        attributes = bool(state.definition.kpis)
        covered = state.covered
        tables = []
        for batch in inserted:
            if batch.rows is not None and batch.rows.num_rows:
                read = read_of_inserted(batch.rows, attributes)
                partitions = read.column("partition").to_pylist()
                after = pa.array([covered.get(p, -1) for p in partitions], type=pa.int64())
                tables.append(read.filter(pc.greater(read.column("seq").cast(pa.int64()), after)))
            _cover(covered, batch.ranges)
        tables = [t for t in tables if t.num_rows]
        if not tables:
            return 0
        table = pa.concat_tables(tables).sort_by([("partition", "ascending"), ("seq", "ascending")])
        self._apply(state, table)
        state.watermark = Tail(advanced(state.watermark.offsets, table), state.watermark.newest_us)
        return table.num_rows

    def _apply(self, state: VersionState, table) -> None:
        apply_table(state.engine, table)
        upserts, deletes = state.engine.take_changes()
        write_changes(self.store, state.definition.version, upserts, deletes, self.clock)
        self._write_coaching(state)

    def _write_coaching(self, state: VersionState, *, rebuilt: bool = False) -> None:
        """The coaching facts of the deals that changed. After a rebuild from the whole raw log,
        stored deals the rebuild has no facts for are tombstoned (as `_stale_keys` does for
        KPI rows)."""
        version = state.definition.version
        deals = state.engine.take_coaching()
        gone: list[str] = []
        if rebuilt:
            fresh = {deal_id for deal_id, _ in deals}
            stored = self.store.rows(
                "SELECT deal_id FROM {db}.coaching_deals FINAL "
                "WHERE definition_version = {v:UInt32}",
                {"v": version},
            )
            gone = [r["deal_id"] for r in stored if r["deal_id"] not in fresh]
        if deals or gone:
            write_coaching(self.store, version, deals, gone, self.clock)

    def positions(self) -> dict[int, dict[int, int]]:
        """Per version: the raw-log offset read so far in each partition (where a failing step
        stands). Safe from any thread."""
        with self._lock:
            states = list(self.states.items())
        return {n: dict(s.watermark.offsets) for n, s in states}

    def progress(self) -> dict[int, dict[str, int | bool]]:
        """Per version: built or not, bulk progress, events applied. Safe from any thread."""
        with self._lock:
            states = list(self.states.items())
        return {
            n: {
                "built": s.built,
                "done": s.bulk_done,
                "total": s.bulk_total,
                "events": s.engine.event_count,
            }
            for n, s in states
        }
