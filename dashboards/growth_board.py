"""Growth and customers: new business per month with MoM, YoY and the growth of the growth;
upsells, renewals and retention.
"""

from __future__ import annotations

from kpiflow.dashboards import defaults
from kpiflow.dashboards.defaults import Board, Options
from kpiflow.dashboards.panels import growth

UID = "kpiflow-growth"


def growth_dashboard(opts: Options) -> Board:
    builder = (
        defaults.dashboard(
            opts,
            uid=UID,
            title="Growth and customers",
            description="New business and its growth, upsells, renewals and retention.",
            tags=("growth",),
            time_from="now-2y",
            refresh="5m",
        )
        .with_variable(defaults.team_variable(opts))
        .with_variable(defaults.tz_variable(opts))
    )
    for panel in (
        growth.new_business_per_month(opts),
        growth.organisation_growth(opts),
        growth.growth_mom(opts),
        growth.growth_yoy(opts),
        growth.growth_of_growth(opts),
        growth.retention_now(opts),
        growth.retention_per_quarter(opts),
        growth.upsells_renewals(opts),
    ):
        builder = builder.with_panel(panel)
    return defaults.finish(builder)
