"""Celebrations on the wallboard: the banner of the latest Master KPI target reached this quarter
(the organisation's, the team's or one of its reps'), and the annotation of each (docs/plans.md).
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import common as cb
from grafana_foundation_sdk.builders import stat
from grafana_foundation_sdk.models import common as cm

from kpiflow.dashboards.defaults import Options, Sql, prepare, thresholds

_WHO = "if(dimension_kind = 'all', 'the organisation', concat(dimension_kind, ' ', dimension))"
_WHERE_TEAM = "(dimension_kind = 'all' OR hex(team) IN (${team:singlequote}))"

BANNER = Sql(
    columns=("celebration",),
    text=f"""
        SELECT concat(
            'Master KPI reached! ', kpi, ': ', {_WHO}, ', ',
            toString(round(value, 2)), ' of ', toString(round(target, 2)),
            if(reward = '', '', concat(' - reward: ', reward))
        ) AS celebration
        FROM achievements
        WHERE quarter_start = toStartOfQuarter(today()) AND {_WHERE_TEAM}
        ORDER BY reached_at DESC
        LIMIT 1
    """,  # noqa: S608 (code constants; values are Grafana variables)
)

ANNOTATION = Sql(
    columns=("time", "text", "tags"),
    text=f"""
        SELECT
            reached_at AS time,
            concat('Master KPI reached: ', kpi, ' (', {_WHO}, ') ', toString(round(value, 2)),
                   ' of ', toString(round(target, 2)),
                   if(reward = '', '', concat('. Reward: ', reward))) AS text,
            'celebration' AS tags
        FROM achievements
        WHERE $__timeFilter(reached_at) AND {_WHERE_TEAM}
        ORDER BY time
    """,  # noqa: S608 (code constants; values are Grafana variables)
)


def banner(opts: Options) -> stat.Panel:
    return (
        prepare(
            stat.Panel(),
            opts,
            "Celebration",
            BANNER,
            w=24,
            h=3,
            description=(
                "The latest Master KPI target reached this quarter, by the organisation, the "
                "team or one of its reps, and the plan's reward (the achievements view)."
            ),
        )
        .reduce_options(
            cb.ReduceDataOptions().values(False).calcs(["lastNotNull"]).fields("/^celebration$/")
        )
        .text_mode(cm.BigValueTextMode.VALUE)
        .color_mode(cm.BigValueColorMode.BACKGROUND)
        .graph_mode(cm.BigValueGraphMode.NONE)
        .justify_mode(cm.BigValueJustifyMode.CENTER)
        .thresholds(thresholds((None, "green")))
        .no_value("Master KPI target not reached yet this quarter")
        .unit("string")
    )
