"""Row families computed as a whole (pipeline, growth, retention) instead of summed per slot.

A family keeps its current rows and the keys whose value changed since the engine last
collected changes, which the engine drains like a store's dirty slots.
"""

from __future__ import annotations

from collections.abc import Iterator

from kpiflow.projections.engine.rows import RowKey, Value


class Family:
    def __init__(self) -> None:
        self._changed: set[RowKey] = set()

    def get(self, key: RowKey) -> Value | None:
        raise NotImplementedError

    def items(self) -> Iterator[tuple[RowKey, Value]]:
        raise NotImplementedError

    def take_changed(self) -> set[RowKey]:
        changed, self._changed = self._changed, set()
        return changed


def diff_into(changed: set[RowKey], old: dict[RowKey, Value], new: dict[RowKey, Value]) -> None:
    """Add to `changed` every key added, removed or changed from `old` to `new`."""
    for key, value in new.items():
        if key not in old or old[key] != value:
            changed.add(key)
    for key in old:
        if key not in new:
            changed.add(key)
