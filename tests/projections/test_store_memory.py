"""`ClickHouseStore.release_memory`: the embedded engine purges its allocator; a server, a
read-only client or an engine that refuses the statement are left alone, never an error."""

from __future__ import annotations

from kpiflow.projections.store import ClickHouseStore


class Recorder:
    def __init__(self, fail: bool = False) -> None:
        self.sent: list[str] = []
        self.fail = fail

    def command(self, sql: str) -> None:
        self.sent.append(sql)
        if self.fail:
            raise RuntimeError("Code: 48. DB::Exception: not implemented")


def _store(dsn: str, *, read_only: bool = False, fail: bool = False) -> ClickHouseStore:
    store = object.__new__(ClickHouseStore)  # no connection: only what release_memory reads
    store.dsn, store.read_only, store.client = dsn, read_only, Recorder(fail)
    return store


def test_the_embedded_engine_knows_the_statement(ch_store):
    ch_store.client.command("SYSTEM JEMALLOC PURGE")  # raises if this chdb does not
    ch_store.release_memory()


def test_only_the_embedded_engine_is_asked():
    embedded, server = _store("chdb:///tmp/x"), _store("http://ch.example:8123")
    embedded.release_memory()
    server.release_memory()
    assert embedded.client.sent == ["SYSTEM JEMALLOC PURGE"]
    assert server.client.sent == []


def test_a_read_only_client_sends_nothing():
    reader = _store("chdb:///tmp/x", read_only=True)
    reader.release_memory()
    assert reader.client.sent == []


def test_an_engine_that_refuses_is_no_error():
    refusing = _store("chdb:///tmp/x", fail=True)
    refusing.release_memory()
    assert refusing.client.sent == ["SYSTEM JEMALLOC PURGE"]
