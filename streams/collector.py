"""Python's cyclic garbage collector, set for a worker that runs for weeks.

With Python's defaults (collect the youngest generation every 700 allocations, the oldest when
it has grown by a quarter) a busy worker ran a full collection every one to four seconds, each
traversing every container object of the process: the modules, Faust's app and the pydantic
models made at start-up (about 150,000 objects) and the engine's state, 80-190 ms each. The
live path creates many objects that live as long as a batch (messages, events, rows): at 700
allocations they survive the young collections, reach the oldest generation and make it grow,
and they are freed by their reference counts soon after; the full collections find almost
nothing (0-130 objects a time). Measured in bench/e2e_bench.py (docs/benchmarks.md,
2026-12-08).

So, once the worker is built: one collection, then everything that exists is moved out of the
collector's reach (`gc.freeze`: it is never garbage, and an object frozen is still freed by its
reference count), and the youngest generation is collected every 50,000 allocations, so that
what lives for a batch is mostly gone before a collection sees it. Cycles are still collected,
only later.
"""

from __future__ import annotations

import gc

YOUNG_EVERY = 50_000  # allocations between collections of the youngest generation (Python: 700)


def settle_for_long_run() -> None:
    """Collect, freeze what exists, collect the young generation less often."""
    gc.collect()
    gc.freeze()
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_EVERY, middle, oldest)


def describe() -> str:
    """The collector's state, for the worker's log."""
    young, middle, oldest = gc.get_threshold()
    return (
        f"{gc.get_freeze_count():,} objects frozen, thresholds {young:,} / {middle} / {oldest}"
        f"{'' if gc.isenabled() else ', disabled'}"
    )
