"""Memory that the process's allocators keep after bulk work, handed back to the system.

Freed memory is not always returned: each allocator keeps some for the next request. After a
bulk build at 5M events of history (measured in-process, docs/benchmarks.md) that was about
200 MB on top of the embedded ClickHouse's own: Arrow's memory pool (mimalloc in the pyarrow
wheels) kept about 160 MB of the tables it had read, and glibc's malloc about 25 MB of the
arrays and rows built from them. A worker that rebuilt its projections then stayed that much
larger for its whole life than one that started from a snapshot of the same state.

`release_memory(store)` asks each of them to give back what it does not use: the embedded
engine (`store.release_memory()`), Arrow's default pool, and glibc's `malloc_trim` where the C
library is glibc. Each takes a few milliseconds; it is called after bulk work (a bulk-build step,
a snapshot load or save, the ingest's load of the raw log's ids), never per live batch.
"""

from __future__ import annotations

import ctypes
import logging
from functools import cache

log = logging.getLogger("kpiflow.memory")


@cache
def _malloc_trim():
    try:
        return getattr(ctypes.CDLL(None), "malloc_trim", None)  # glibc only (not musl, macOS)
    except OSError:
        return None


def release_process_memory() -> None:
    """Arrow's default memory pool and glibc's malloc give back the memory they keep free."""
    try:
        import pyarrow as pa

        pa.default_memory_pool().release_unused()
    except Exception:  # noqa: BLE001 - a pool without the call: nothing to give back
        log.debug("Arrow's memory pool did not release its unused memory", exc_info=True)
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def release_memory(store) -> None:
    """What the embedded engine and this process's allocators keep free, given back."""
    store.release_memory()
    release_process_memory()
