"""Writing engine output to `kpi_rows`: upserts with a newer revision, deletes as tombstones."""

from __future__ import annotations

import time
from collections.abc import Sequence

KPI_ROW_COLUMNS = (
    "definition_version", "kpi", "grain", "period_start", "dimension_kind", "dimension",
    "value", "revision", "is_deleted",
)  # fmt: skip


class RevisionClock:
    """Strictly increasing revisions, seeded from wall time so a restarted writer still wins."""

    def __init__(self) -> None:
        self._last = 0

    def next(self) -> int:
        self._last = max(self._last + 1, time.time_ns() // 1000)
        return self._last


def projection_rows(
    version: int, upserts: Sequence, deletes: Sequence, revision: int
) -> list[list]:
    rows = [
        [
            version,
            r.kpi,
            r.grain,
            r.period_start,
            r.dimension_kind,
            r.dimension,
            float(r.value),
            revision,
            0,
        ]
        for r in upserts
    ]
    rows.extend([version, k[0], k[1], k[2], k[3], k[4], 0.0, revision, 1] for k in deletes)
    return rows


def write_changes(
    store, version: int, upserts: Sequence, deletes: Sequence, clock: RevisionClock
) -> int:
    rows = projection_rows(version, upserts, deletes, clock.next())
    for start in range(0, len(rows), 100_000):
        store.insert("kpi_rows", rows[start : start + 100_000], KPI_ROW_COLUMNS)
    return len(rows)
