"""Pipeline and velocity: pipeline value (total and by stage), won value, deal velocity, time per
stage and close rate. Insight KPIs (velocity, stage days, close rate) are shown per team only.
"""

from __future__ import annotations

from kpiflow.dashboards import defaults
from kpiflow.dashboards.defaults import Board, Options
from kpiflow.dashboards.panels import pipeline
from kpiflow.dashboards.panels.kpi_series import kpi_series

UID = "kpiflow-pipeline"


def pipeline_dashboard(opts: Options) -> Board:
    builder = (
        defaults.dashboard(
            opts,
            uid=UID,
            title="Pipeline and velocity",
            description="Open pipeline, won value, deal velocity, time per stage and close rate.",
            tags=("pipeline",),
            time_from="now-180d",
            refresh="1m",
        )
        .with_variable(defaults.team_variable(opts))
        .with_variable(defaults.rep_variable(opts))
        .with_variable(defaults.grain_variable(("week", "month", "quarter"), "month"))
        .with_variable(defaults.tz_variable(opts))
    )
    for panel in (
        kpi_series(opts, "pipeline_value", "team", title="Pipeline value per team (end of period)"),
        kpi_series(opts, "pipeline_value", "rep", title="Pipeline value per rep (end of period)"),
        pipeline.pipeline_by_stage(opts),
        pipeline.pipeline_now(opts),
        kpi_series(opts, "won_value", "team", title="Won value per team"),
        kpi_series(opts, "close_rate", "team", title="Close rate per team"),
        kpi_series(
            opts,
            "deal_velocity_days",
            "team",
            title="Deal velocity per team (median days opened to won)",
        ),
        pipeline.stage_days_latest(opts),
        pipeline.stage_days_series(opts),
    ):
        builder = builder.with_panel(panel)
    return defaults.finish(builder)
