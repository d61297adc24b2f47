"""Growth and customers: new business, its growth (MoM, YoY, growth of the growth), upsells,
renewals and retention. All from `kpi_values`: the growth KPIs are computed by the projections
(month grain), never here.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import common as cb
from grafana_foundation_sdk.builders import stat, table
from grafana_foundation_sdk.models import common as cm

from kpiflow.dashboards.defaults import Options, Sql, prepare, prop, thresholds, time_series
from kpiflow.dashboards.panels.kpi_series import kpi_series

ORGANISATION_GROWTH = Sql(
    columns=("month", "new_business", "mom", "yoy", "yoy_change"),
    text="""
        SELECT
            period_start AS month,
            sumIf(value, kpi = 'new_business_value') AS new_business,
            anyIf(toNullable(value), kpi = 'new_business_growth_mom') AS mom,
            anyIf(toNullable(value), kpi = 'new_business_growth_yoy') AS yoy,
            anyIf(toNullable(value), kpi = 'new_business_growth_yoy_change') AS yoy_change
        FROM kpi_values
        WHERE kpi IN ('new_business_value', 'new_business_growth_mom', 'new_business_growth_yoy',
                      'new_business_growth_yoy_change')
          AND grain = 'month'
          AND dimension_kind = 'all'
          AND $__dateFilter(period_start)
        GROUP BY month
        ORDER BY month DESC
    """,
)


def organisation_growth(opts: Options) -> table.Panel:
    ratio = [
        prop("unit", "percentunit"),
        prop("decimals", 1),
        prop("custom.cellOptions", {"type": "color-text"}),
        prop("thresholds", thresholds((None, "red"), (0, "green")).build()),
    ]
    return (
        prepare(
            table.Panel(),
            opts,
            "Organisation: new business per month with growth",
            ORGANISATION_GROWTH,
            w=12,
            h=10,
            description="New business value per month and its growth: month over month, year over "
            "year, and the growth of the growth (change of YoY from the previous month). "
            "Empty where the base month is 0 or missing.",
        )
        .show_header(True)
        .override_by_name("new_business", [prop("unit", opts.money_unit)])
        .override_by_name("mom", [*ratio, prop("displayName", "MoM")])
        .override_by_name("yoy", [*ratio, prop("displayName", "YoY")])
        .override_by_name(
            "yoy_change", [*ratio, prop("displayName", "YoY change (growth of growth)")]
        )
    )


UPSELLS_RENEWALS = Sql(
    columns=("time", "series", "value"),
    time_series=True,
    text="""
        SELECT
            toDateTime(period_start, ${tz:singlequote}) AS time,
            concat(dimension, ' · ', kpi) AS series,
            value
        FROM kpi_values
        WHERE kpi IN ('upsells', 'renewals')
          AND grain = 'month'
          AND dimension_kind = 'team'
          AND hex(dimension) IN (${team:singlequote})
          AND $__dateFilter(period_start)
        ORDER BY time, series
    """,
)


def upsells_renewals(opts: Options) -> object:
    return time_series(
        opts,
        "Upsells and renewals won per month",
        UPSELLS_RENEWALS,
        label="series",
        unit="short",
        bars=True,
        w=24,
        h=8,
        description="`upsells`, `renewals` (result KPIs): deals won of that kind per month.",
    )


RETENTION_NOW = Sql(
    columns=("retention",),
    text="""
        SELECT argMax(value, period_start) AS retention
        FROM kpi_values
        WHERE kpi = 'retention_rate'
          AND grain = 'quarter'
          AND dimension_kind = 'all'
          AND $__dateFilter(period_start)
    """,
)


def retention_now(opts: Options) -> stat.Panel:
    return (
        prepare(
            stat.Panel(),
            opts,
            "Retention, latest quarter (organisation)",
            RETENTION_NOW,
            w=6,
            h=8,
            description=(
                "`retention_rate`: of the customers active at the quarter's start, the share "
                "not churned by its end (so far, for the current quarter)."
            ),
        )
        .reduce_options(cb.ReduceDataOptions().values(False).calcs(["lastNotNull"]).fields(""))
        .unit("percentunit")
        .decimals(1)
        .color_mode(cm.BigValueColorMode.VALUE)
        .graph_mode(cm.BigValueGraphMode.NONE)
        .thresholds(thresholds((None, "red"), (0.8, "orange"), (0.9, "green")))
    )


def new_business_per_month(opts: Options) -> object:
    return kpi_series(
        opts, "new_business_value", "team", title="New business per month", grain="month"
    )


def _growth(opts: Options, kpi: str, title: str) -> object:
    return kpi_series(opts, kpi, "team", title=title, grain="month", w=8)


def growth_mom(opts: Options) -> object:
    return _growth(opts, "new_business_growth_mom", "New business growth, month over month")


def growth_yoy(opts: Options) -> object:
    return _growth(opts, "new_business_growth_yoy", "New business growth, year over year")


def growth_of_growth(opts: Options) -> object:
    return _growth(opts, "new_business_growth_yoy_change", "Growth of the growth (change of YoY)")


def retention_per_quarter(opts: Options) -> object:
    return kpi_series(
        opts, "retention_rate", "team", title="Retention per quarter", grain="quarter", w=18
    )
