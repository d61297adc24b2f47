"""`allocators.release_memory`: the embedded engine, Arrow's pool and glibc's malloc give back
what they keep free after bulk work; an allocator without the call is never an error."""

from __future__ import annotations

import platform

import pyarrow as pa
import pytest

from kpiflow.projections import allocators


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS in /proc/self/status")


def _fill_and_drop_the_pool(mb: int) -> None:
    arrays = [pa.array(range(8192)) for _ in range(mb * 16)]  # 64 KiB each
    assert pa.default_memory_pool().bytes_allocated() >= mb * 2**20
    del arrays


@pytest.mark.skipif(
    pa.default_memory_pool().backend_name not in ("mimalloc", "jemalloc"),
    reason="Arrow's pool here is the system allocator",
)
def test_arrow_pool_gives_back_the_memory_of_freed_tables():
    _fill_and_drop_the_pool(64)  # once first: what the allocator sets up for itself stays
    allocators.release_process_memory()
    before = _rss_mb()
    _fill_and_drop_the_pool(256)
    assert pa.default_memory_pool().bytes_allocated() == 0
    allocators.release_process_memory()
    assert _rss_mb() - before < 64, "the pool kept most of the 256 MB of freed arrays"


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's")
def test_glibc_trim_is_found():
    assert allocators._malloc_trim() is not None


class Store:
    def __init__(self) -> None:
        self.released = 0

    def release_memory(self) -> None:
        self.released += 1


def test_release_memory_asks_the_store_and_the_process(monkeypatch):
    calls = []
    monkeypatch.setattr(allocators, "release_process_memory", lambda: calls.append("process"))
    store = Store()
    allocators.release_memory(store)
    assert store.released == 1
    assert calls == ["process"]


def test_a_pool_that_refuses_is_no_error(monkeypatch):
    class Refusing:
        def release_unused(self) -> None:
            raise NotImplementedError("no such call in this Arrow")

    monkeypatch.setattr(pa, "default_memory_pool", Refusing)
    allocators.release_process_memory()
