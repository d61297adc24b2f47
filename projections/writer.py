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


COACHING_COLUMNS = (
    "definition_version", "deal_id", "stay_stage", "stay_ended_on", "stay_team", "stay_rep",
    "stay_days", "stay_outcome", "closed_on", "close_team", "close_rep", "won", "velocity_days",
    "revision", "is_deleted",
)  # fmt: skip


def coaching_rows(version: int, deals: Sequence, gone: Sequence[str], revision: int) -> list[list]:
    """`coaching_deals` rows: (deal_id, outcome) pairs from `KpiEngine.take_coaching()`, and
    tombstones for deals that have no such facts any more."""
    rows = []
    for deal_id, outcome in deals:
        stays, close = outcome.stays, outcome.close
        rows.append(
            [
                version,
                deal_id,
                [s.stage for s in stays],
                [s.day for s in stays],
                [s.team for s in stays],
                [s.rep for s in stays],
                [s.days for s in stays],
                [s.outcome for s in stays],
                close.day if close else None,
                close.team if close else "",
                close.rep if close else "",
                int(bool(close and close.won)),
                close.velocity_days if close else None,
                revision,
                0,
            ]
        )
    rows.extend(
        [version, d, [], [], [], [], [], [], None, "", "", 0, None, revision, 1] for d in gone
    )
    return rows


def write_coaching(
    store, version: int, deals: Sequence, gone: Sequence[str], clock: RevisionClock
) -> int:
    rows = coaching_rows(version, deals, gone, clock.next())
    for start in range(0, len(rows), 50_000):
        store.insert("coaching_deals", rows[start : start + 50_000], COACHING_COLUMNS)
    return len(rows)
