"""kpiflow never ranks reps on an insight KPI (docs/kpis.md): enforced here, three times.

1. `require_rankable(kpi)` is called by every panel function that compares reps on a KPI (the
   wallboard leaderboards, per-rep series): an insight KPI raises `InsightRankingError`.
2. `insight_rankings(sql)` scans a finished panel's SQL: SQL that reads rep-level data (the
   `'rep'` dimension, the `${rep}` variable, `rep_id`) must not name an insight KPI. The build
   runs it over every panel and refuses to write a dashboard that breaks the rule.
3. `coaching_problems(board)`: per-rep insight values (the coaching views) are read only by a
   board in the coaching folder, only for the one rep its single-select variable names, and no
   query there groups, orders or lists by rep.
"""

from __future__ import annotations

import re

from kpiflow.errors import ConfigError
from kpiflow.projections.catalog import CATALOG, kpi


class InsightRankingError(ConfigError):
    """A dashboard would rank or compare reps on an insight KPI."""


INSIGHT_KPIS: tuple[str, ...] = tuple(
    name for name, spec in CATALOG.items() if spec.kind == "insight"
)
RANKABLE_KPIS: tuple[str, ...] = tuple(
    name for name, spec in CATALOG.items() if spec.kind != "insight"
)

# SQL that reads rep-level rows or groups by rep.
_REP_LEVEL = re.compile(r"'rep'|\$\{rep\b|\$rep\b|\brep_id\b", re.IGNORECASE)
# An insight KPI named in SQL: a catalog name in quotes, or a family prefix such as 'stage_days:%'.
_QUOTED = re.compile(r"'([^']*)'")


def require_rankable(name: str, *, where: str) -> str:
    """Return `name` if reps may be ranked on it; raise InsightRankingError for insight KPIs."""
    spec = kpi(name)
    if spec.kind == "insight":
        raise InsightRankingError(
            f"{where}: {name!r} is an insight KPI; kpiflow never ranks or compares reps on an "
            f"insight KPI. Use an action or result KPI instead: {', '.join(RANKABLE_KPIS)}"
        )
    return name


def _insight_names_in(sql: str) -> list[str]:
    found = []
    for literal in _QUOTED.findall(sql):
        text = literal.rstrip("%")
        for name in INSIGHT_KPIS:
            family = name.split(":", 1)[0] + ":" if ":" in name else None
            if literal == name or (family and text.startswith(family)):
                found.append(name if literal == name else family + "*")
                break
    return sorted(set(found))


def insight_rankings(sql: str) -> list[str]:
    """Insight KPIs that this SQL reads at rep level (empty when the SQL is fine)."""
    if not _REP_LEVEL.search(sql):
        return []
    return _insight_names_in(sql)


_COACHING_VIEWS = re.compile(r"\bcoaching_(stays|closes|deals)\b", re.IGNORECASE)
_ONE_REP = "hex(rep_id) = ${rep:singlequote}"
_BY_REP = re.compile(r"\b(GROUP|ORDER)\s+BY\b[^()]*\brep_id\b", re.IGNORECASE | re.DOTALL)
_REP_COLUMNS = ("rep_id", "rep", "dimension")


def coaching_problems(board, coaching_folder: str) -> list[str]:
    """Why `board` breaks the coaching rule (empty when it does not)."""
    problems = []
    for query in board.queries:
        reads = bool(_COACHING_VIEWS.search(query.sql))
        if reads and board.folder != coaching_folder:
            problems.append(
                f"{query.where}: reads per-rep coaching values outside the coaching folder"
            )
        if board.folder != coaching_folder or query.where.startswith("variable "):
            continue
        if reads and _ONE_REP not in query.sql:
            problems.append(f"{query.where}: reads coaching values without {_ONE_REP}")
        if _BY_REP.search(query.sql) or set(query.columns) & set(_REP_COLUMNS):
            problems.append(f"{query.where}: groups, orders or lists by rep")
    if board.folder == coaching_folder:
        for variable in board.json.get("templating", {}).get("list", []):
            if variable.get("name") == "rep" and (
                variable.get("multi") or variable.get("includeAll")
            ):
                problems.append("variable rep: one rep at a time (no multi-select, no All)")
    return problems
