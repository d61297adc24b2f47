"""Sales activity: activities and points per team and rep over time, and by activity type."""

from __future__ import annotations

from kpiflow.dashboards import defaults
from kpiflow.dashboards.defaults import Board, Options
from kpiflow.dashboards.panels import activity
from kpiflow.dashboards.panels.kpi_series import kpi_series

UID = "kpiflow-activity"


def activity_dashboard(opts: Options) -> Board:
    builder = (
        defaults.dashboard(
            opts,
            uid=UID,
            title="Sales activity",
            description="Action KPIs per team and rep: activities, outbound contacts, points.",
            tags=("activity",),
            time_from="now-90d",
            refresh="1m",
        )
        .with_variable(defaults.team_variable(opts))
        .with_variable(defaults.rep_variable(opts))
        .with_variable(defaults.grain_variable(("day", "week", "month", "quarter"), "week"))
        .with_variable(defaults.tz_variable(opts))
    )
    for panel in (
        kpi_series(opts, "activities", "team", title="Activities per team"),
        kpi_series(opts, "activity_points", "team", title="Activity points per team"),
        kpi_series(opts, "activities", "rep", title="Activities per rep"),
        kpi_series(opts, "activity_points", "rep", title="Activity points per rep"),
        activity.activities_by_type(opts),
        activity.activity_mix(opts),
        kpi_series(opts, "outbound_contacts", "team", title="Outbound contacts per team", h=10),
        activity.rep_summary(opts),
    ):
        builder = builder.with_panel(panel)
    return defaults.finish(builder)
