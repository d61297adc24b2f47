"""Snapshots of a projector's engine, so a restart does not rebuild from the whole raw log.

After a version is built, and then every `KPIFLOW_SNAPSHOT_SECONDS` while events come in, the
projector saves its engine (pickled) with the raw-log position it covers, in `engine_snapshots`.
A new leader (a restart, a failover, after a failed step) loads the newest complete snapshot of
each active version and reads the raw log only past that position: what it re-applies is what
came after the snapshot, whatever the length of history. The rows that gives are the rows of a
full rebuild: the engine's state after the same events is the same whatever the batches, and
rows written after the snapshot by the previous leader are written again with the same values.

A snapshot is used only when all of these hold; otherwise the projector rebuilds from the raw
log (and logs why):
- it is complete (every part of it was written: a crash while saving leaves an incomplete one);
- it was saved by this snapshot format and this kpiflow version (the engine's classes);
- for exactly this definition (its whole JSON) and reporting time zone;
- the raw log up to its position is the one it was built from: same number of rows and the same
  XOR of a hash of (event_id, partition, offset) over them (a wiped or rewritten raw log, or
  duplicate copies merged away since, do not match).

A snapshot is written and read one part (`PART_BYTES`) per statement: the embedded engine holds
about a part at a time, where one statement for a snapshot of 98 MB (5M events) left it holding
about 360 MB more after an insert and 700 MB more after a read.

Only the pipeline reads and writes the table (a pickle runs code when loaded; the reader roles
have no grant on it: projections/security/users.sql).
"""

from __future__ import annotations

import hashlib
import json
import logging
import pickle
import uuid
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from kpiflow import __version__
from kpiflow.projections.definitions import Definition
from kpiflow.projections.engine import KpiEngine
from kpiflow.projections.gc_pause import gc_paused
from kpiflow.projections.rawlog import Tail, position_params, upto_sql

log = logging.getLogger("kpiflow.projector")

FORMAT = 1
PART_BYTES = 8 * 1024 * 1024
COLUMNS = ("definition_version", "snapshot_id", "part", "parts", "meta", "data")
_FINGERPRINT_SQL = (  # noqa: S608 (constants)
    "SELECT count() AS n, toString(groupBitXor(cityHash64(event_id, partition, offset))) AS h "
    "FROM {db}.raw_event_log WHERE "
) + upto_sql("at")


@dataclass(frozen=True)
class Snapshot:
    engine: KpiEngine
    position: Tail
    snapshot_id: str


def definition_fingerprint(definition: Definition) -> str:
    return hashlib.sha256(definition.model_dump_json().encode()).hexdigest()


def raw_fingerprint(store, position: Tail) -> tuple[int, str]:
    """(rows, XOR of their hashes) of the raw log up to `position`."""
    row = store.rows(_FINGERPRINT_SQL, position_params("at", position))[0]
    return int(row["n"]), str(row["h"])


def _meta(definition: Definition, tz: ZoneInfo, position: Tail, raw: tuple[int, str]) -> dict:
    return {
        "format": FORMAT,
        "kpiflow": __version__,
        "definition": definition_fingerprint(definition),
        "zone": tz.key,
        "position": {str(p): o for p, o in sorted(position.offsets.items())},
        "raw_rows": raw[0],
        "raw_hash": raw[1],
    }


def _parts(version: int, snapshot_id: str, meta: str, data: bytes):
    """The rows of a snapshot (COLUMNS) as an Arrow table whose parts are views of `data`, cut
    every PART_BYTES: the pickle is not copied part by part before the insert serialises it."""
    import numpy as np
    import pyarrow as pa

    n = max(1, -(-len(data) // PART_BYTES))
    cuts = np.minimum(np.arange(n + 1, dtype=np.int64) * PART_BYTES, len(data))
    parts = pa.Array.from_buffers(
        pa.large_binary(), n, [None, pa.py_buffer(cuts), pa.py_buffer(data)]
    )
    columns = {
        "definition_version": pa.array([version] * n, pa.uint32()),
        "snapshot_id": pa.array([snapshot_id] * n, pa.string()),
        "part": pa.array(range(n), pa.uint32()),
        "parts": pa.array([n] * n, pa.uint32()),
        "meta": pa.array([meta] * n, pa.string()),
        "data": parts,
    }
    return pa.table([columns[c] for c in COLUMNS], names=list(COLUMNS))


def save(store, definition: Definition, tz: ZoneInfo, engine: KpiEngine, position: Tail) -> str:
    """Save `engine` (which has applied the raw log up to `position`); drop older snapshots of
    the version once this one is complete. Returns the snapshot id."""
    with gc_paused():
        data = pickle.dumps(engine, protocol=5)
    meta = json.dumps(_meta(definition, tz, position, raw_fingerprint(store, position)))
    snapshot_id = uuid.uuid4().hex
    version = definition.version
    parts = _parts(version, snapshot_id, meta, data)
    for k in range(parts.num_rows):  # one part an insert: one the embedded engine holds at once
        store.insert_arrow("engine_snapshots", parts.slice(k, 1))
    store.command(
        "DELETE FROM {db}.engine_snapshots WHERE definition_version = {v:UInt32} "
        "AND snapshot_id != {id:String}",
        {"v": version, "id": snapshot_id},
    )
    log.info(
        "projector: snapshot of version %s saved (%s events, %.1f MB)",
        version,
        engine.event_count,
        len(data) / 1e6,
    )
    return snapshot_id


def _why_not(meta: dict, definition: Definition, tz: ZoneInfo) -> str | None:
    if meta.get("format") != FORMAT or meta.get("kpiflow") != __version__:
        return f"saved by another kpiflow ({meta.get('kpiflow')}, format {meta.get('format')})"
    if meta.get("definition") != definition_fingerprint(definition):
        return "saved for another definition"
    if meta.get("zone") != tz.key:
        return f"saved for the time zone {meta.get('zone')}"
    return None


def _joined(table):
    """The `data` column of a read, its rows in order, as one bytes-like object: a view of
    Arrow's own buffer when it came as one chunk, else one join of the chunks' views."""
    import numpy as np
    import pyarrow as pa

    # bytes as ClickHouse stores them (Arrow's string type would decode them as UTF-8)
    views = []
    for chunk in table.column("data").cast(pa.binary()).chunks:
        if not len(chunk):
            continue
        _, offsets, values = chunk.buffers()
        at = np.frombuffer(offsets, np.int32)[chunk.offset : chunk.offset + len(chunk) + 1]
        views.append(memoryview(values)[int(at[0]) : int(at[-1])])
    return views[0] if len(views) == 1 else b"".join(views)


def _read(store, version: int, snapshot_id: str) -> bytearray | None:
    """The pickle of a snapshot, read one part at a time into one buffer; None when a part is
    gone or changed meanwhile. All parts in one query made the embedded engine hold several
    times the snapshot's size (about 700 MB more for one of 98 MB, kept after the query); one
    part at a time it holds about a part."""
    key = {"v": version, "id": snapshot_id}
    where = "definition_version = {v:UInt32} AND snapshot_id = {id:String}"
    sizes = store.rows(
        f"SELECT part, length(data) AS n FROM {{db}}.engine_snapshots WHERE {where} "  # noqa: S608 (constant)
        "ORDER BY part",
        key,
    )
    data = bytearray(sum(int(r["n"]) for r in sizes))
    at = 0
    for size in sizes:
        table = store.arrow(
            f"SELECT data FROM {{db}}.engine_snapshots WHERE {where} AND part = {{part:UInt32}}",  # noqa: S608 (constant)
            {**key, "part": size["part"]},
        )
        part = _joined(table)
        if len(part) != int(size["n"]):
            return None
        data[at : at + len(part)] = part
        at += len(part)
    return data


def load(store, definition: Definition, tz: ZoneInfo) -> Snapshot | None:
    """The newest usable snapshot of the version, or None (the caller rebuilds)."""
    version = definition.version
    found = store.rows(
        "SELECT snapshot_id, any(meta) AS about, any(parts) AS wanted, count() AS n, "
        "max(created_at) AS at FROM {db}.engine_snapshots WHERE definition_version = {v:UInt32} "
        "GROUP BY snapshot_id HAVING n = wanted ORDER BY at DESC LIMIT 1",
        {"v": version},
    )
    if not found:
        return None
    snapshot_id = found[0]["snapshot_id"]
    meta = json.loads(found[0]["about"])
    position = Tail({int(p): int(o) for p, o in meta["position"].items()})
    why = _why_not(meta, definition, tz)
    if why is None and raw_fingerprint(store, position) != (meta["raw_rows"], meta["raw_hash"]):
        why = "the raw log up to its position is not the one it was built from"
    if why is not None:
        log.warning("projector: not using the snapshot of version %s: %s", version, why)
        return None
    data = _read(store, version, snapshot_id)
    if data is None:
        log.warning(
            "projector: the snapshot of version %s changed while it was read (a newer one "
            "replaced it?)",
            version,
        )
        return None
    try:
        with gc_paused():  # hundreds of thousands of containers that live on
            engine = pickle.loads(data)  # noqa: S301 (written by this pipeline only: see the top)
    except Exception as exc:  # noqa: BLE001 - any unreadable snapshot means: rebuild
        log.warning("projector: the snapshot of version %s cannot be read: %s", version, exc)
        return None
    if not isinstance(engine, KpiEngine):
        log.warning("projector: the snapshot of version %s holds no engine", version)
        return None
    log.info(
        "projector: version %s loaded from its snapshot (%s events, raw log up to %s)",
        version,
        engine.event_count,
        meta["position"],
    )
    return Snapshot(engine, position, snapshot_id)
