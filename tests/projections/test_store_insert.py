"""`ClickHouseStore.insert` keeps the column types it asked a table for between inserts: each
insert still carries its own deduplication token, and a table that changed (DDL through the
store, or by another client) is described afresh."""

from __future__ import annotations

import pytest

TABLE = (
    "CREATE TABLE {db}.cache_probe (a UInt32, b String) ENGINE = MergeTree ORDER BY a "
    "SETTINGS non_replicated_deduplication_window = 100"
)


@pytest.fixture
def probe(ch_store):
    ch_store.command(TABLE)
    return ch_store


def _rows(store) -> list[tuple]:
    return [
        (r["a"], r["b"]) for r in store.rows("SELECT a, toString(b) AS b FROM {db}.cache_probe")
    ]


def test_each_insert_carries_its_own_token(probe):
    probe.insert("cache_probe", [[1, "x"]], ["a", "b"], token="A")
    probe.insert("cache_probe", [[1, "x"]], ["a", "b"], token="A")  # a retry: dropped
    probe.insert("cache_probe", [[1, "x"]], ["a", "b"], token="B")  # same rows, new batch
    probe.insert("cache_probe", [[2, "y"]], ["a", "b"], token="A")  # token A again: dropped
    assert sorted(_rows(probe)) == [(1, "x"), (1, "x")]


def test_ddl_through_the_store_describes_the_table_afresh(probe):
    probe.insert("cache_probe", [[1, "7"]], ["a", "b"])
    probe.command("ALTER TABLE {db}.cache_probe MODIFY COLUMN b UInt64")
    probe.insert("cache_probe", [[2, 5]], ["a", "b"])  # a String column would refuse 5
    assert sorted(_rows(probe)) == [(1, "7"), (2, "5")]


def test_a_table_changed_by_another_client_fails_once_then_inserts(probe):
    probe.insert("cache_probe", [[1, "7"]], ["a", "b"])
    other = probe.clone()
    try:
        other.command("ALTER TABLE {db}.cache_probe MODIFY COLUMN b UInt64")
    finally:
        other.close()
    failures = 0
    for _ in range(2):  # as the ingest retries a batch
        try:
            probe.insert("cache_probe", [[2, 5]], ["a", "b"])
            break
        except Exception:  # built for a String column: the cached context is dropped
            failures += 1
    assert failures <= 1
    assert sorted(_rows(probe)) == [(1, "7"), (2, "5")]
