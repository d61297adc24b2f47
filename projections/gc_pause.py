"""Python's cyclic garbage collector paused around bulk work whose objects live on.

A bulk build, the rows written after it and a snapshot load create hundreds of thousands of
containers (cells, entities, rows) that survive. Each time the collector's thresholds are
crossed, it traverses the objects tracked so far, and it does so again and again as that heap
grows: at 1M events of history a few tenths of a second of a replay, half of a snapshot load.
That work leaves no garbage cycles to collect on the way, so the collector waits until it is
done and then runs as usual (objects freed by their reference counts are freed at once either
way).

The collector is one per process: it stays paused while any thread is inside `gc_paused()`,
and is enabled again only if it was enabled when the first one came in.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_inside = 0
_was_enabled = False


@contextmanager
def gc_paused() -> Iterator[None]:
    global _inside, _was_enabled
    with _lock:
        if not _inside:
            _was_enabled = gc.isenabled()
            gc.disable()
        _inside += 1
    try:
        yield
    finally:
        with _lock:
            _inside -= 1
            if not _inside and _was_enabled:
                gc.enable()
