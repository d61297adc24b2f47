"""KPI Flow wallboard: one per team, for a TV in kiosk mode (`/d/<uid>?kiosk`).

Top: the celebration banner (the latest Master KPI target reached this quarter, with the reward;
also an annotation), then the quarter's Master KPI (name; actual, target, projected end of
quarter; pace; on track).
Middle: the other focus KPIs and the leaderboards (action/result KPIs only). Bottom: the team's
latest events. Refreshes every 10 s.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

from kpiflow.dashboards import defaults
from kpiflow.dashboards.defaults import Board, Options
from kpiflow.dashboards.panels import activity, celebrations, leaderboard, pacing
from kpiflow.dashboards.panels.leaderboard import DEFAULT_LEADERBOARDS, Leaderboard

GENERIC_UID = "kpiflow-wallboard"
REFRESH = "10s"


def wallboard_uid(team: str) -> str:
    """A stable uid of at most 40 characters for any team id (Grafana's uid limit)."""
    slug = re.sub(r"[^a-z0-9]+", "-", team.lower()).strip("-")[:20] or "team"
    digest = hashlib.sha1(team.encode()).hexdigest()[:8]  # noqa: S324 (an id, not security)
    return f"kpiflow-wb-{slug}-{digest}"


def wallboard(
    opts: Options,
    team: str | None,
    leaderboards: Sequence[Leaderboard] = DEFAULT_LEADERBOARDS,
) -> Board:
    """The wallboard of `team`, or with team=None one with a team picker (before teams exist)."""
    if not 1 <= len(leaderboards) <= 2:
        raise ValueError("a wallboard has one or two leaderboards")
    title = f"KPI Flow wallboard: {team}" if team is not None else "KPI Flow wallboard"
    builder = defaults.dashboard(
        opts,
        uid=wallboard_uid(team) if team is not None else GENERIC_UID,
        title=title,
        description=(
            "For a TV in kiosk mode: the quarter's Master KPI, focus KPIs, leaderboards, "
            "latest events."
        ),
        tags=("wallboard",),
        time_from="now-7d",
        refresh=REFRESH,
    )
    if team is None:
        builder = builder.with_variable(defaults.team_variable(opts, multi=False))
    else:
        builder = builder.with_variable(defaults.constant("team", defaults.variable_value(team)))
    builder = builder.with_variable(defaults.tz_variable(opts)).annotations(
        [
            *defaults.annotations(opts),
            defaults.query_annotation(
                opts, "Master KPI reached", celebrations.ANNOTATION, "Celebrations", "green"
            ),
        ]
    )

    width = 12 // len(leaderboards)
    for panel in (
        celebrations.banner(opts),
        pacing.master_kpi(opts),
        pacing.master_progress(opts),
        pacing.master_pace(opts),
        pacing.master_on_track(opts),
        pacing.focus_kpis(opts),
        *(leaderboard.leaderboard(opts, board, w=width) for board in leaderboards),
        activity.recent_activity(opts),
    ):
        builder = builder.with_panel(panel)
    return defaults.finish(builder)
