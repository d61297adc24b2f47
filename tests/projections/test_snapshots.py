"""Restarts from a snapshot give the rows of a full rebuild; an unusable snapshot is a rebuild.

Each "restart" is a new `Projector` on the same embedded ClickHouse (all a worker keeps is
there); a crash is the old one dropped mid-way, whatever it wrote staying written.
"""

from __future__ import annotations

import logging
import random
from zoneinfo import ZoneInfo

import pyarrow as pa
import pytest

from kpiflow.projections import snapshots
from kpiflow.projections.definitions import DEFAULT_DEFINITION
from kpiflow.projections.engine import KpiEngine
from kpiflow.projections.projector import Projector
from kpiflow.projections.rawlog import RAW_COLUMNS, read_all_records
from tests.projections.test_bulk_build import CUSTOM, quarter_rows

TZ = ZoneInfo("Europe/Amsterdam")


def idle(projector: Projector) -> Projector:
    projector.sync_versions()
    while projector.step():
        pass
    return projector


def stored(store, version: int = 1) -> dict:
    return {
        (r["kpi"], r["grain"], r["p"], r["dimension_kind"], r["dimension"]): float(r["value"])
        for r in store.rows(
            "SELECT kpi, grain, toString(period_start) AS p, dimension_kind, dimension, value "
            "FROM {db}.kpi_values_all_versions WHERE definition_version = {v:UInt32}",
            {"v": version},
        )
    }


def rebuilt(store, definition=DEFAULT_DEFINITION) -> dict:
    engine = KpiEngine(definition, TZ)
    engine.apply(read_all_records(store, attributes=bool(definition.kpis)))
    return {
        (r.kpi, r.grain, r.period_start.isoformat(), r.dimension_kind, r.dimension): float(r.value)
        for r in engine.rows()
    }


def coaching(store) -> list:
    return store.rows(
        "SELECT deal_id, rep_id, stage, days, outcome FROM {db}.coaching_stays "
        "WHERE definition_version = 1 ORDER BY deal_id, stage, rep_id, days"
    )


@pytest.fixture
def rows():
    return quarter_rows()[:-4]  # copies that differ from their original: see test_bulk_build


def loaded(caplog) -> bool:
    return any("loaded from its snapshot" in r.getMessage() for r in caplog.records)


def test_a_restart_loads_the_snapshot_and_reads_only_what_came_after(ch_store, rows, caplog):
    caplog.set_level(logging.INFO, "kpiflow.projector")
    third = len(rows) // 3
    ch_store.insert("raw_event_log", rows[:third], RAW_COLUMNS)
    first = idle(Projector(ch_store, TZ))  # builds, then saves a snapshot
    assert not loaded(caplog)
    ch_store.insert("raw_event_log", rows[third:], RAW_COLUMNS)
    restarted = Projector(ch_store, TZ)
    restarted.sync_versions()
    assert loaded(caplog)
    state = restarted.states[1]
    assert state.built and state.watermark.offsets == first.states[1].watermark.offsets
    applied = 0
    while step := restarted.step():
        applied += step
    assert applied == len(rows) - third  # the snapshot's part of the raw log was not read again
    assert stored(ch_store) == pytest.approx(rebuilt(ch_store))


def test_a_crash_between_a_snapshot_and_the_next_batches(ch_store, rows, caplog):
    """The crashed leader wrote rows past its snapshot; the next one re-applies from the
    snapshot and ends where a full rebuild does, coaching facts included."""
    caplog.set_level(logging.INFO, "kpiflow.projector")
    a, b = len(rows) // 3, 2 * len(rows) // 3
    ch_store.insert("raw_event_log", rows[:a], RAW_COLUMNS)
    crashed = idle(Projector(ch_store, TZ, snapshot_seconds=3600))  # one snapshot, at the build
    ch_store.insert("raw_event_log", rows[a:b], RAW_COLUMNS)
    crashed.step()  # writes the rows of these events, then "crashes": no snapshot of them
    del crashed
    ch_store.insert("raw_event_log", rows[b:], RAW_COLUMNS)
    idle(Projector(ch_store, TZ))
    assert loaded(caplog)
    from_snapshot, its_coaching = stored(ch_store), coaching(ch_store)
    assert from_snapshot == pytest.approx(rebuilt(ch_store))
    ch_store.command("TRUNCATE TABLE {db}.engine_snapshots")  # the same, from a full rebuild
    idle(Projector(ch_store, TZ))
    assert stored(ch_store) == pytest.approx(from_snapshot)
    assert coaching(ch_store) == its_coaching


def test_a_snapshot_of_custom_kpis_round_trips(ch_store, rows, caplog):
    from kpiflow.projections.versions import register

    caplog.set_level(logging.INFO, "kpiflow.projector")
    ch_store.insert("raw_event_log", rows, RAW_COLUMNS)
    idle(Projector(ch_store, TZ))
    custom = register(ch_store, CUSTOM)
    idle(Projector(ch_store, TZ))  # builds v2 (v1 from its snapshot)
    caplog.clear()
    restarted = Projector(ch_store, TZ)
    restarted.sync_versions()
    assert [r.getMessage().count("loaded from its snapshot") for r in caplog.records].count(1) == 2
    engine = restarted.states[custom.version].engine
    assert stored(ch_store, custom.version) == pytest.approx(
        {
            (r.kpi, r.grain, r.period_start.isoformat(), r.dimension_kind, r.dimension): float(
                r.value
            )
            for r in engine.rows()
        }
    )
    assert stored(ch_store, custom.version) == pytest.approx(rebuilt(ch_store, custom))


def _why(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if "not using the snapshot" in r.getMessage()]


def test_a_snapshot_of_another_kpiflow_is_not_used(ch_store, rows, caplog, monkeypatch):
    caplog.set_level(logging.INFO, "kpiflow.projector")
    ch_store.insert("raw_event_log", rows, RAW_COLUMNS)
    idle(Projector(ch_store, TZ))
    monkeypatch.setattr(snapshots, "__version__", "0.0.0-other")
    assert idle(Projector(ch_store, TZ)).states[1].built
    assert not loaded(caplog) and "saved by another kpiflow" in _why(caplog)[0]


def test_a_snapshot_for_another_time_zone_is_not_used(ch_store, rows, caplog):
    caplog.set_level(logging.INFO, "kpiflow.projector")
    ch_store.insert("raw_event_log", rows, RAW_COLUMNS)
    idle(Projector(ch_store, TZ))
    assert idle(Projector(ch_store, ZoneInfo("Asia/Tokyo"))).states[1].built
    assert not loaded(caplog) and "time zone Europe/Amsterdam" in _why(caplog)[0]


def test_a_changed_raw_log_is_rebuilt(ch_store, rows, caplog):
    caplog.set_level(logging.INFO, "kpiflow.projector")
    ch_store.insert("raw_event_log", rows, RAW_COLUMNS)
    idle(Projector(ch_store, TZ))
    gone = rows[5][0]
    ch_store.command(
        "ALTER TABLE {db}.raw_event_log DELETE WHERE event_id = {id:String} "
        "SETTINGS mutations_sync = 2",
        {"id": gone},
    )
    idle(Projector(ch_store, TZ))
    assert not loaded(caplog) and "raw log up to its position" in _why(caplog)[0]
    assert stored(ch_store) == pytest.approx(rebuilt(ch_store))


def test_an_incomplete_snapshot_is_not_used(ch_store, rows, caplog, monkeypatch):
    caplog.set_level(logging.INFO, "kpiflow.projector")
    monkeypatch.setattr(snapshots, "PART_BYTES", 4096)
    ch_store.insert("raw_event_log", rows, RAW_COLUMNS)
    idle(Projector(ch_store, TZ))
    parts = ch_store.scalar("SELECT count() FROM {db}.engine_snapshots")
    assert parts > 2
    ch_store.command(  # as if the worker died while writing it
        "ALTER TABLE {db}.engine_snapshots DELETE WHERE part = 1 SETTINGS mutations_sync = 2"
    )
    rebuilt_now = idle(Projector(ch_store, TZ))
    assert not loaded(caplog) and rebuilt_now.states[1].built
    assert stored(ch_store) == pytest.approx(rebuilt(ch_store))
    # the rebuild saved a complete one, and only that one is kept
    assert ch_store.scalar("SELECT uniqExact(snapshot_id) FROM {db}.engine_snapshots") == 1


def test_snapshots_off_neither_load_nor_save(ch_store, rows, caplog):
    caplog.set_level(logging.INFO, "kpiflow.projector")
    ch_store.insert("raw_event_log", rows, RAW_COLUMNS)
    idle(Projector(ch_store, TZ))
    saved = ch_store.scalar("SELECT uniqExact(snapshot_id) FROM {db}.engine_snapshots")
    off = idle(Projector(ch_store, TZ, snapshot_seconds=0))
    assert off.states[1].built and not loaded(caplog)
    assert ch_store.scalar("SELECT uniqExact(snapshot_id) FROM {db}.engine_snapshots") == saved
    assert stored(ch_store) == pytest.approx(rebuilt(ch_store))


def test_a_snapshot_that_does_not_unpickle_is_a_rebuild(ch_store, rows, caplog):
    """Bytes garbled in the table (a bad restore, a hand edit): the newest complete snapshot has
    valid metadata but cannot be read, so the projector rebuilds instead of failing."""
    caplog.set_level(logging.INFO, "kpiflow.projector")
    ch_store.insert("raw_event_log", rows, RAW_COLUMNS)
    idle(Projector(ch_store, TZ))
    meta = ch_store.scalar("SELECT any(meta) FROM {db}.engine_snapshots")
    ch_store.insert(
        "engine_snapshots",
        [[1, "garbled", 0, 1, meta, b"\x80\x05not a pickle"]],
        snapshots.COLUMNS,
    )
    rebuilt_now = idle(Projector(ch_store, TZ))
    assert rebuilt_now.states[1].built and not loaded(caplog)
    assert any("cannot be read" in r.getMessage() for r in caplog.records)
    assert stored(ch_store) == pytest.approx(rebuilt(ch_store))


@pytest.mark.parametrize("size", [0, 1, 4095, 4096, 4097, 3 * 4096 + 5])
def test_the_parts_of_a_snapshot_give_back_its_bytes(ch_store, monkeypatch, size):
    """Saved as views of the pickle cut every PART_BYTES, read back as one view of Arrow's
    buffer: byte for byte the same, whatever the size against the cut."""
    monkeypatch.setattr(snapshots, "PART_BYTES", 4096)
    data = random.Random(size).randbytes(size)
    ch_store.insert_arrow("engine_snapshots", snapshots._parts(7, "s", "{}", data))
    table = ch_store.arrow(
        "SELECT data, part, parts FROM {db}.engine_snapshots WHERE snapshot_id = 's' ORDER BY part"
    )
    n = max(1, -(-size // 4096))
    assert table.column("part").to_pylist() == list(range(n))
    assert set(table.column("parts").to_pylist()) == {n}
    assert bytes(snapshots._joined(table)) == data


def test_parts_read_in_several_chunks_are_joined_in_order():
    data = random.Random(1).randbytes(10_000)
    parts = pa.array([data[:3000], data[3000:7000], data[7000:]], pa.binary())
    table = pa.table({"data": pa.chunked_array([parts.slice(0, 1), parts.slice(1, 2)])})
    assert bytes(snapshots._joined(table)) == data


def test_a_snapshot_replaced_while_it_is_read_is_a_rebuild(ch_store, rows, caplog, monkeypatch):
    """Read one part at a time: a part that is gone by the time it is read (a newer snapshot
    replaced this one) makes the load give up, never a pickle with a hole in it."""
    caplog.set_level(logging.INFO, "kpiflow.projector")
    monkeypatch.setattr(snapshots, "PART_BYTES", 4096)
    ch_store.insert("raw_event_log", rows, RAW_COLUMNS)
    idle(Projector(ch_store, TZ))
    assert ch_store.scalar("SELECT count() FROM {db}.engine_snapshots") > 2
    read = ch_store.arrow

    def replaced_meanwhile(sql, params=None):
        if "part = {part:UInt32}" in sql and params["part"] == 1:
            ch_store.command(
                "ALTER TABLE {db}.engine_snapshots DELETE WHERE part = 1 "
                "SETTINGS mutations_sync = 2"
            )
        return read(sql, params)

    monkeypatch.setattr(ch_store, "arrow", replaced_meanwhile)
    assert snapshots.load(ch_store, DEFAULT_DEFINITION, TZ) is None
    assert any("changed while it was read" in r.getMessage() for r in caplog.records)
    monkeypatch.setattr(ch_store, "arrow", read)
    rebuilt_now = idle(Projector(ch_store, TZ))
    assert rebuilt_now.states[1].built and not loaded(caplog)
    assert stored(ch_store) == pytest.approx(rebuilt(ch_store))
