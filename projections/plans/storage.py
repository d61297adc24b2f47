"""Plans in ClickHouse (`0003_plans.sql`), and what pacing and suggestions read back.

Every value goes in as data: inserts of rows, bound `{name:Type}` parameters in queries.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from kpiflow.projections.catalog import spec_of
from kpiflow.projections.plans.calendar import Quarter
from kpiflow.projections.plans.model import Plan
from kpiflow.projections.plans.pacing import ActualKey, Roster, accumulation, lower_is_better
from kpiflow.projections.plans.suggest import History
from kpiflow.projections.sqlsafe import ident

# (column, ClickHouse type) of what `plan apply` writes; the other columns take their defaults
TARGET_COLUMNS: tuple[tuple[str, str], ...] = (
    ("quarter_start", "Date"),
    ("valid_from", "Date"),
    ("plan_revision", "UInt32"),
    ("kpi", "String"),
    ("is_master", "UInt8"),
    ("focus_rank", "UInt8"),
    ("dimension_kind", "String"),
    ("dimension", "String"),
    ("target", "Float64"),
    ("working_days", "Array(Date)"),
    ("scope_teams", "Array(String)"),
    ("kpi_kind", "String"),
    ("accumulation", "String"),
    ("lower_is_better", "UInt8"),
    ("definition_version", "UInt32"),
)
CHANGE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("quarter_start", "Date"),
    ("changed_on", "Date"),
    ("plan_revision", "UInt32"),
    ("reason", "String"),
    ("body", "String"),
    ("kind", "String"),
)


def insert_json(
    store, table: str, columns: Sequence[tuple[str, str]], rows: Sequence[Sequence[Any]]
) -> None:
    """Insert rows as one bound JSONEachRow parameter (`INSERT ... SELECT FROM format(...)`).

    The same statement works on a direct store and through the worker's query endpoint, whose
    JSON transport turns dates into strings that a plain client insert would refuse.
    """
    if not rows:
        return
    names = [name for name, _ in columns]
    data = "\n".join(json.dumps(dict(zip(names, row, strict=True)), default=str) for row in rows)
    store.command(
        f"INSERT INTO {{db}}.{ident(table)} ({', '.join(names)}) "  # noqa: S608 (checked names)
        "SELECT * FROM format(JSONEachRow, {structure:String}, {data:String})",
        {"structure": ", ".join(f"{name} {kind}" for name, kind in columns), "data": data},
    )


def target_rows(plan: Plan, revision: int) -> list[list[Any]]:
    """The plan_targets rows of `plan`: the complete plan in effect from each valid_from on."""
    rows = []
    working = list(plan.working_dates())
    scope = list(plan.scope_teams)
    for snapshot in plan.snapshots():
        for rank, focus in enumerate(snapshot.focus, 1):
            spec = spec_of(focus.kpi)
            for _, kind, dimension, target in focus.targets.entries():
                rows.append(
                    [
                        plan.period.start,
                        snapshot.valid_from,
                        revision,
                        focus.kpi,
                        int(focus.master),
                        rank,
                        kind,
                        dimension,
                        float(target),
                        working,
                        scope,
                        spec.kind,
                        accumulation(spec),
                        int(lower_is_better(spec)),
                        snapshot.definition_version or 0,
                    ]
                )
    return rows


def change_rows(plan: Plan, revision: int) -> list[list[Any]]:
    """The plan_changes rows: the whole plan (kind 'plan', on the first day), then each change."""
    rows: list[list[Any]] = [
        [
            plan.period.start,
            plan.period.start,
            revision,
            f"plan for {plan.quarter}",
            plan.canonical_json(),
            "plan",
        ]
    ]
    for change in plan.changes:
        body = json.dumps(
            change.model_dump(mode="json", by_alias=True, exclude_unset=True), sort_keys=True
        )
        rows.append([plan.period.start, change.on, revision, change.reason, body, "change"])
    return rows


@dataclass(frozen=True)
class Applied:
    quarter: str
    revision: int
    unchanged: bool
    target_rows: int
    change_rows: int


def stored_plan(store, quarter: Quarter) -> tuple[Plan, int] | None:
    """The latest complete revision of the quarter's plan, and its number; None when none."""
    rows = store.rows(
        "SELECT plan_revision, body FROM {db}.plan_changes FINAL "
        "WHERE quarter_start = {q:Date} AND kind = 'plan' "
        "AND plan_revision <= "
        "(SELECT max(plan_revision) FROM {db}.plan_targets WHERE quarter_start = {q:Date}) "
        "ORDER BY plan_revision DESC LIMIT 1",
        {"q": quarter.start},
    )
    if not rows:
        return None
    return Plan.model_validate_json(rows[0]["body"]), int(rows[0]["plan_revision"])


def latest_stored_quarter(store, on_or_before: date) -> Quarter | None:
    """The latest quarter with a stored plan, starting on or before the day."""
    rows = store.rows(
        "SELECT max(quarter_start) AS q, count() AS n FROM {db}.plan_changes "
        "WHERE kind = 'plan' AND quarter_start <= {d:Date}",
        {"d": on_or_before},
    )
    if not rows or not rows[0]["n"]:
        return None
    return Quarter.of(date.fromisoformat(rows[0]["q"]))


def apply_plan(store, plan: Plan) -> Applied:
    """Store `plan` as a new revision of its quarter; nothing when the latest revision is equal.

    Targets go in first, then the plan file and its changes: a revision counts as stored once its
    plan row is there (`stored_plan`), so an apply that stopped half-way is redone by the next.
    """
    quarter = plan.period
    current = stored_plan(store, quarter)
    latest = _max_revision(store, quarter)
    if current and current[1] == latest and current[0].canonical_json() == plan.canonical_json():
        return Applied(plan.quarter, latest, True, 0, 0)
    revision = latest + 1
    targets = target_rows(plan, revision)
    changes = change_rows(plan, revision)
    insert_json(store, "plan_targets", TARGET_COLUMNS, targets)
    insert_json(store, "plan_changes", CHANGE_COLUMNS, changes)
    return Applied(plan.quarter, revision, False, len(targets), len(changes))


def _max_revision(store, quarter: Quarter) -> int:
    rows = store.rows(
        "SELECT greatest("
        "(SELECT max(plan_revision) FROM {db}.plan_targets WHERE quarter_start = {q:Date}), "
        "(SELECT max(plan_revision) FROM {db}.plan_changes WHERE quarter_start = {q:Date})) AS r",
        {"q": quarter.start},
    )
    return int(rows[0]["r"] or 0) if rows else 0


def live_definition_version(store) -> int | None:
    rows = store.rows(
        "SELECT argMax(version, revision) AS v, count() AS n "
        "FROM {db}.live_version WHERE name = 'live'"
    )
    return int(rows[0]["v"]) if rows and rows[0]["n"] else None


def known_definition_versions(store) -> set[int]:
    return {
        int(r["version"]) for r in store.rows("SELECT DISTINCT version FROM {db}.kpi_definitions")
    }


def load_roster(store, quarter: Quarter, named_reps: Iterable[str] = ()) -> Roster:
    """Teams and reps with any KPI value in the quarter, and the team of each of those reps and
    of the reps the plan names: the team of the rep's latest event (by occurred_at, then
    event_id), as the kpi_pacing view reads it."""
    members = store.rows(
        "SELECT DISTINCT dimension_kind, dimension FROM {db}.kpi_values "
        "WHERE grain = 'quarter' AND period_start = {q:Date} "
        "AND dimension_kind IN ('team', 'rep') AND dimension != ''",
        {"q": quarter.start},
    )
    teams = frozenset(r["dimension"] for r in members if r["dimension_kind"] == "team")
    reps = {r["dimension"] for r in members if r["dimension_kind"] == "rep"} | set(named_reps)
    rep_teams = dict.fromkeys(sorted(reps), "")
    if reps:
        for row in store.rows(
            "SELECT rep_id, argMax(team_id, (occurred_at, event_id)) AS team "
            "FROM {db}.raw_event_log "
            "WHERE rep_id IN {reps:Array(String)} AND team_id != '' GROUP BY rep_id",
            {"reps": sorted(reps)},
        ):
            rep_teams[row["rep_id"]] = row["team"]
    return Roster(teams, rep_teams)


def load_actuals(
    store, quarter: Quarter, kpis: Sequence[str], as_of: date, live: bool
) -> dict[ActualKey, float]:
    """Quarter-to-date values of `kpis` (live definition version, `kpi_values`).

    live (as_of is today or later): the quarter-grain rows, exactly what `kpi_pacing` reads.
    A past as_of: additive KPIs sum their day rows up to and including as_of; a point-in-time
    KPI (pipeline_value) is its day rows on the last day up to as_of that has data; the others
    stay the quarter row
    (medians and ratios cannot be rebuilt from day rows), which the board points out.
    """
    names = list(kpis)
    quarter_rows = store.rows(
        "SELECT kpi, dimension_kind, dimension, value FROM {db}.kpi_values "
        "WHERE grain = 'quarter' AND period_start = {q:Date} AND kpi IN {kpis:Array(String)}",
        {"q": quarter.start, "kpis": names},
    )
    out = {(r["kpi"], r["dimension_kind"], r["dimension"]): float(r["value"]) for r in quarter_rows}
    if live or as_of > quarter.end:
        return out
    additive = [k for k in names if spec_of(k).additive]
    if additive:
        out = {k: v for k, v in out.items() if k[0] not in additive}
        for r in store.rows(
            "SELECT kpi, dimension_kind, dimension, sum(value) AS value FROM {db}.kpi_values "
            "WHERE grain = 'day' AND period_start >= {q:Date} AND period_start <= {d:Date} "
            "AND kpi IN {kpis:Array(String)} GROUP BY kpi, dimension_kind, dimension",
            {"q": quarter.start, "d": as_of, "kpis": additive},
        ):
            out[(r["kpi"], r["dimension_kind"], r["dimension"])] = float(r["value"])
    levels = [k for k in names if spec_of(k).point_in_time]
    if levels:
        out = {k: v for k, v in out.items() if k[0] not in levels}
        for r in store.rows(
            "SELECT kpi, dimension_kind, dimension, value FROM {db}.kpi_values "
            "WHERE kpi IN {kpis:Array(String)} AND grain = 'day' AND (kpi, period_start) IN ("
            "  SELECT kpi, max(period_start) FROM {db}.kpi_values "
            "  WHERE kpi IN {kpis:Array(String)} AND grain = 'day' AND dimension_kind = 'all' "
            "  AND period_start >= {q:Date} AND period_start <= {d:Date} GROUP BY kpi)",
            {"q": quarter.start, "d": as_of, "kpis": levels},
        ):
            out[(r["kpi"], r["dimension_kind"], r["dimension"])] = float(r["value"])
    return out


def weekly_history(store, kpis: Sequence[str], weeks: Sequence[date]) -> History:
    """Week-grain values of `kpis` in `weeks` (Mondays): (kpi, kind, dimension) -> week -> value."""
    out: dict[tuple[str, str, str], dict[date, float]] = defaultdict(dict)
    if not kpis or not weeks:
        return out
    for r in store.rows(
        "SELECT kpi, dimension_kind, dimension, toString(period_start) AS week, value "
        "FROM {db}.kpi_values WHERE grain = 'week' AND kpi IN {kpis:Array(String)} "
        "AND period_start >= {first:Date} AND period_start <= {last:Date} AND dimension != ''",
        {"kpis": list(kpis), "first": min(weeks), "last": max(weeks)},
    ):
        out[(r["kpi"], r["dimension_kind"], r["dimension"])][date.fromisoformat(r["week"])] = float(
            r["value"]
        )
    return out
