"""Celebrations: record the moment a Master KPI target is reached, once; check it after replays.

Reached, as `kpi_pacing` paces the plan in effect today (its mid-quarter target changes
included): a Master KPI row of the organisation, a team or a rep whose quarter-to-date value is
at or above its target (target > 0). Only KPIs where higher is better: a lower-is-better Master
KPI (a median such as deal velocity) under its target early in the quarter says nothing yet, so
it is not celebrated. One record per quarter, KPI and who, never deleted (docs/plans.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

REACHED_SQL = """
SELECT p.quarter_start AS quarter_start, p.kpi AS kpi, p.dimension_kind AS dimension_kind,
       p.dimension AS dimension, p.team AS team, p.plan_revision AS plan_revision,
       p.target AS target, assumeNotNull(p.actual_to_date) AS value
FROM {db}.kpi_pacing AS p
LEFT JOIN (
    SELECT DISTINCT quarter_start, kpi, dimension_kind, dimension, 1 AS known
    FROM {db}.achievement_log
) AS a
ON a.quarter_start = p.quarter_start AND a.kpi = p.kpi
   AND a.dimension_kind = p.dimension_kind AND a.dimension = p.dimension
WHERE p.is_master = 1 AND p.lower_is_better = 0 AND p.target > 0
  AND p.actual_to_date IS NOT NULL AND p.actual_to_date >= p.target
  AND a.known = 0
ORDER BY kpi, dimension_kind, dimension
"""
REWARD_SQL = """
SELECT JSONExtractString(body, 'reward') AS reward
FROM {db}.plan_changes_current
WHERE kind = 'plan' AND quarter_start = {q:Date}
LIMIT 1
"""
LIVE_SQL = "SELECT argMax(version, revision) AS live FROM {db}.live_version WHERE name = 'live'"
# kpi_pacing reads the raw log (each rep's team): look at it only when a plan of this quarter
# has a Master KPI
PLANNED_SQL = (
    "SELECT count() FROM {db}.plan_targets "
    "WHERE quarter_start = toStartOfQuarter(today()) AND is_master = 1"
)
COLUMNS = (
    "quarter_start", "kpi", "dimension_kind", "dimension", "team", "plan_revision",
    "definition_version", "target", "value", "reward", "reached_at", "reached_on",
)  # fmt: skip


@dataclass(frozen=True)
class Achievement:
    quarter_start: date
    kpi: str
    dimension_kind: str
    dimension: str
    team: str
    plan_revision: int
    definition_version: int
    target: float
    value: float
    reward: str
    reached_at: datetime
    reached_on: date

    @property
    def who(self) -> str:
        if self.dimension_kind == "all":
            return "the organisation"
        return f"{self.dimension_kind} {self.dimension}"


def record_reached(store, tz: ZoneInfo, now: datetime | None = None) -> list[Achievement]:
    """Record every Master KPI target reached and not recorded yet; returns the new records."""
    if not int(store.scalar(PLANNED_SQL) or 0):
        return []
    rows = store.rows(REACHED_SQL)
    if not rows:
        return []
    now = now or datetime.now(UTC)
    live = int(store.scalar(LIVE_SQL) or 0)
    rewards: dict[str, str] = {}
    out = []
    for r in rows:
        quarter = str(r["quarter_start"])
        if quarter not in rewards:
            found = store.rows(REWARD_SQL, {"q": quarter})
            rewards[quarter] = found[0]["reward"] if found else ""
        out.append(
            Achievement(
                date.fromisoformat(quarter),
                r["kpi"],
                r["dimension_kind"],
                r["dimension"],
                r["team"],
                int(r["plan_revision"]),
                live,
                float(r["target"]),
                float(r["value"]),
                rewards[quarter],
                now,
                now.astimezone(tz).date(),
            )
        )
    store.insert(
        "achievement_log",
        [[getattr(a, c) for c in COLUMNS] for a in out],
        COLUMNS,
    )
    return out


def check_version(store, version: int) -> int:
    """Say, per achievement, whether it holds under definition `version` (its quarter value of
    the KPI at or above the target it was reached against); returns how many were checked."""
    rows = store.rows(
        """
        SELECT a.quarter_start AS quarter_start, a.kpi AS kpi,
               a.dimension_kind AS dimension_kind, a.dimension AS dimension, a.target AS target,
               v.value AS value, v.found AS found
        FROM {db}.achievements AS a
        LEFT JOIN (
            SELECT kpi, period_start, dimension_kind, dimension, value, 1 AS found
            FROM {db}.kpi_values_all_versions
            WHERE definition_version = {v:UInt32} AND grain = 'quarter'
        ) AS v
        ON v.kpi = a.kpi AND v.period_start = a.quarter_start
           AND v.dimension_kind = a.dimension_kind AND v.dimension = a.dimension
        """,
        {"v": version},
    )
    if not rows:
        return 0
    checks = []
    for r in rows:
        value = float(r["value"]) if r["found"] else None
        holds = int(value is not None and value >= float(r["target"]))
        checks.append(
            [date.fromisoformat(str(r["quarter_start"])), r["kpi"], r["dimension_kind"],
             r["dimension"], version, value, holds]
        )  # fmt: skip
    store.insert(
        "achievement_checks",
        checks,
        ("quarter_start", "kpi", "dimension_kind", "dimension", "definition_version", "value",
         "holds"),
    )  # fmt: skip
    return len(checks)


def of_quarter(store, quarter_start: date) -> list[dict]:
    """The quarter's achievements, first reached first (for `flow`)."""
    return store.rows(
        "SELECT kpi, dimension_kind, dimension, team, target, value, reward, "
        "toString(reached_on) AS reached_on, holds_in_live "
        "FROM {db}.achievements WHERE quarter_start = {q:Date} ORDER BY reached_at, dimension",
        {"q": quarter_start},
    )
