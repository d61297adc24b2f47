"""Build every dashboard and write it as sorted, stable JSON (one file per dashboard uid).

The same inputs (options, teams, leaderboards) always give byte-identical files, so a rebuild
that changes nothing shows no diff, and Grafana's file provider sees no change.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from kpiflow.dashboards.activity_board import activity_dashboard
from kpiflow.dashboards.coaching_board import FOLDER_UID as COACHING_FOLDER
from kpiflow.dashboards.coaching_board import coaching_dashboard
from kpiflow.dashboards.defaults import FOLDER_UID, Board, Options, to_text
from kpiflow.dashboards.growth_board import growth_dashboard
from kpiflow.dashboards.guard import InsightRankingError, coaching_problems, insight_rankings
from kpiflow.dashboards.panels.leaderboard import DEFAULT_LEADERBOARDS, Leaderboard
from kpiflow.dashboards.pipeline_board import pipeline_dashboard
from kpiflow.dashboards.wallboard import wallboard

TEAMS_SQL = (
    "SELECT DISTINCT dimension FROM {db}.kpi_values "
    "WHERE dimension_kind = 'team' AND dimension != '' ORDER BY dimension"
)


def discover_teams(store) -> list[str]:
    """The teams that have KPI rows (live definition version)."""
    return [row["dimension"] for row in store.rows(TEAMS_SQL)]


def normalise_teams(teams: Iterable[str]) -> list[str]:
    return sorted({t.strip() for t in teams if t and t.strip()})


def build_all(
    opts: Options,
    teams: Iterable[str] = (),
    leaderboards: Sequence[Leaderboard] = DEFAULT_LEADERBOARDS,
) -> list[Board]:
    """Every dashboard: one wallboard per team, a team-picker wallboard, the three analyses, and
    the coaching board (its own folder)."""
    boards = [
        wallboard(opts, None, leaderboards),
        *(wallboard(opts, team, leaderboards) for team in normalise_teams(teams)),
        activity_dashboard(opts),
        pipeline_dashboard(opts),
        growth_dashboard(opts),
        coaching_dashboard(opts),
    ]
    check(boards)
    return boards


def check(boards: Sequence[Board]) -> None:
    """Refuse dashboards that rank reps on an insight KPI, or that reuse a uid."""
    problems = [
        f"{query.dashboard_uid} {query.where}: reads {', '.join(found)} at rep level"
        for board in boards
        for query in board.queries
        if (found := insight_rankings(query.sql))
    ]
    problems += [
        f"{board.uid} {problem}"
        for board in boards
        for problem in coaching_problems(board, COACHING_FOLDER)
    ]
    if problems:
        raise InsightRankingError(
            "kpiflow never ranks reps on an insight KPI; these panels would:\n  "
            + "\n  ".join(problems)
        )
    uids = [board.uid for board in boards]
    duplicates = sorted({uid for uid in uids if uids.count(uid) > 1})
    if duplicates:
        raise ValueError(f"two dashboards share the uid(s) {', '.join(duplicates)}")


def folder_dirs(out: Path, coaching_out: Path | None = None) -> dict[str, Path]:
    """Where each Grafana folder's JSON goes: the shared boards to `out`, the coaching board to
    `coaching_out` (default: beside `out`, named `<out>-coaching`). Two sibling folders, so each
    file provider reads only its own (a provider also reads subfolders)."""
    return {FOLDER_UID: out, COACHING_FOLDER: coaching_out or out.with_name(f"{out.name}-coaching")}


def write(boards: Sequence[Board], out: Path, coaching_out: Path | None = None) -> list[Path]:
    """Write each board to `<its folder's dir>/<uid>.json`; remove kpiflow dashboards no longer
    built."""
    written = []
    for folder, directory in folder_dirs(out, coaching_out).items():
        mine = [board for board in boards if board.folder == folder]
        directory.mkdir(parents=True, exist_ok=True)
        wanted = {board.filename for board in mine}
        for stale in directory.glob("kpiflow-*.json"):
            if stale.name not in wanted:
                stale.unlink()
        for board in sorted(mine, key=lambda b: b.uid):
            path = directory / board.filename
            text = to_text(board.json)
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                path.write_text(text, encoding="utf-8")
            written.append(path)
    return written
