"""Coaching: one rep at a time beside the team, in its own folder for managers only.

Per-rep insight values (conversion per stage, days per stage, velocity, close rate) exist here
and nowhere else (docs/coaching.md): not on the wallboard, not in a leaderboard, not in a list of
reps. The rep variable is single-select without "All", and the board is tagged apart from the
shared dashboards (their link menu does not list it).
"""

from __future__ import annotations

from dataclasses import replace

from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.models import dashboard as model

from kpiflow.dashboards import defaults
from kpiflow.dashboards.defaults import Board, Options, Sql, coaching_datasource_uid
from kpiflow.dashboards.panels import coaching

UID = "kpiflow-coaching"
FOLDER_UID = "kpiflow-coaching"
FOLDER_TITLE = "KPI Flow coaching"
TAG = "kpiflow-coaching"

# Every rep seen in the range (their ids are listed to pick one; nothing is ranked or shown).
COACH_REPS = Sql(
    columns=("value", "rep_id"),
    text="""
        SELECT DISTINCT hex(rep_id) AS value, rep_id
        FROM raw_events
        WHERE $__timeFilter(occurred_at)
        ORDER BY rep_id
    """,
)


def one_rep_variable(opts: Options) -> dash.QueryVariable:
    return (
        dash.QueryVariable("rep")
        .label("Rep")
        .datasource(defaults.datasource(opts))
        .query(COACH_REPS.clean)
        .refresh(model.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(model.VariableSort.ALPHABETICAL_ASC)
        .multi(False)
        .include_all(False)
    )


def coaching_dashboard(opts: Options) -> Board:
    # its own data source: a ClickHouse user that may read the coaching views
    opts = replace(opts, datasource_uid=coaching_datasource_uid(opts.datasource_uid))
    builder = (
        defaults.dashboard(
            opts,
            uid=UID,
            title="Coaching: one rep beside the team",
            description=(
                "Where a rep's bottleneck is: the funnel per stage, close rate, velocity and "
                "activity mix of one rep beside the rep's team. Managers only; never ranked."
            ),
            tags=(),
            time_from="now-90d",
            refresh="5m",
        )
        .tags([TAG])
        .links([])
        .with_variable(one_rep_variable(opts))
        .with_variable(defaults.tz_variable(opts))
    )
    for panel in (
        coaching.funnel(opts),
        coaching.closes(opts),
        coaching.results(opts),
        coaching.activity_mix(opts),
    ):
        builder = builder.with_panel(panel)
    return defaults.finish(builder, folder=FOLDER_UID, variable_sql={"rep": COACH_REPS})
