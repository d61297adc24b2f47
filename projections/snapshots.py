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


def save(store, definition: Definition, tz: ZoneInfo, engine: KpiEngine, position: Tail) -> str:
    """Save `engine` (which has applied the raw log up to `position`); drop older snapshots of
    the version once this one is complete. Returns the snapshot id."""
    data = pickle.dumps(engine, protocol=5)
    meta = json.dumps(_meta(definition, tz, position, raw_fingerprint(store, position)))
    snapshot_id = uuid.uuid4().hex
    chunks = [data[i : i + PART_BYTES] for i in range(0, len(data), PART_BYTES)] or [b""]
    version = definition.version
    store.insert(
        "engine_snapshots",
        [[version, snapshot_id, k, len(chunks), meta, chunk] for k, chunk in enumerate(chunks)],
        COLUMNS,
    )
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
    table = store.arrow(
        "SELECT data FROM {db}.engine_snapshots WHERE definition_version = {v:UInt32} "
        "AND snapshot_id = {id:String} ORDER BY part",
        {"v": version, "id": snapshot_id},
    )
    import pyarrow as pa

    # bytes as ClickHouse stores them (Arrow's string type would decode them as UTF-8)
    data = b"".join(table.column("data").cast(pa.binary()).to_pylist())
    try:
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
