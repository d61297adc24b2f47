"""The quarter plan on the wallboard: the Master KPI and the other focus KPIs, from `kpi_pacing`.

`kpi_pacing` holds one row per focus KPI and dimension of the plan in effect today. A team's
wallboard shows the team's row when the plan has a team target, else the organisation's row
(`dimension_kind = 'all'`), and says so.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import common as cb
from grafana_foundation_sdk.builders import gauge, stat, table
from grafana_foundation_sdk.models import common as cm

from kpiflow.dashboards.defaults import (
    ON_TRACK_MAPPING,
    PACE_THRESHOLDS,
    Options,
    Sql,
    prepare,
    prop,
    thresholds,
)

# The team's Master KPI row when the plan has a team target for it, else the organisation's.
_MASTER_ROW = """        FROM kpi_pacing
        WHERE is_master = 1
          AND (dimension_kind = 'all'
               OR (dimension_kind = 'team' AND hex(dimension) IN (${team:singlequote})))
        ORDER BY dimension_kind = 'team' DESC
        LIMIT 1
    """

MASTER_KPI = Sql(
    columns=("master_kpi",),
    text="""
        SELECT concat(
            p.kpi,
            if(p.dimension_kind = 'team', '', ' (organisation)'),
            if(c.description = '', '', concat(': ', c.description))
        ) AS master_kpi
        FROM kpi_pacing AS p
        -- a custom KPI says how it is reached (its description in the live version)
        LEFT JOIN (
            SELECT kpi, any(description) AS description
            FROM custom_kpis
            WHERE definition_version = (
                SELECT argMax(version, revision) FROM live_version WHERE name = 'live'
            )
            GROUP BY kpi
        ) AS c ON c.kpi = p.kpi
        WHERE p.is_master = 1
          AND (p.dimension_kind = 'all'
               OR (p.dimension_kind = 'team' AND hex(p.dimension) IN (${team:singlequote})))
        ORDER BY p.dimension_kind = 'team' DESC
        LIMIT 1
    """,
)


def master_kpi(opts: Options) -> stat.Panel:
    return (
        prepare(
            stat.Panel(),
            opts,
            "Master KPI",
            MASTER_KPI,
            w=6,
            h=8,
            description="The Master KPI of this quarter's plan.",
        )
        .reduce_options(
            cb.ReduceDataOptions().values(False).calcs(["lastNotNull"]).fields("/^master_kpi$/")
        )
        .text_mode(cm.BigValueTextMode.VALUE)
        .color_mode(cm.BigValueColorMode.NONE)
        .graph_mode(cm.BigValueGraphMode.NONE)
        .justify_mode(cm.BigValueJustifyMode.CENTER)
        .no_value("no plan for this quarter")
        .unit("string")
    )


MASTER_PROGRESS = Sql(
    columns=("Actual so far", "Target", "Projected end of quarter"),
    text=f"""
        SELECT
            actual_to_date AS "Actual so far",
            target AS "Target",
            projected_end AS "Projected end of quarter"
{_MASTER_ROW}""",
)


def master_progress(opts: Options) -> stat.Panel:
    return (
        prepare(
            stat.Panel(),
            opts,
            "Master KPI: actual, target, projected end of quarter",
            MASTER_PROGRESS,
            w=10,
            h=8,
            description="Quarter to date, in the Master KPI's own unit (amounts in the reporting "
            "currency). Projected end: the current pace carried to quarter end.",
        )
        .reduce_options(cb.ReduceDataOptions().values(False).calcs(["lastNotNull"]).fields(""))
        .text_mode(cm.BigValueTextMode.VALUE_AND_NAME)
        .color_mode(cm.BigValueColorMode.VALUE)
        .graph_mode(cm.BigValueGraphMode.NONE)
        .orientation(cm.VizOrientation.VERTICAL)
        .thresholds(thresholds((None, "text")))
        # the Master KPI's own unit (a count, or an amount in the reporting currency): the plan
        # may change it mid-quarter, so the panel says "short" and its description says which
        .unit("short")
    )


MASTER_PACE = Sql(
    columns=("pace",),
    text=f"""
        SELECT pace_ratio AS pace
{_MASTER_ROW}""",
)


def master_pace(opts: Options) -> gauge.Panel:
    return (
        prepare(
            gauge.Panel(),
            opts,
            "Pace",
            MASTER_PACE,
            w=4,
            h=8,
            description="Actual so far / expected by today (100% = exactly on plan).",
        )
        .reduce_options(cb.ReduceDataOptions().values(False).calcs(["lastNotNull"]).fields(""))
        .unit("percentunit")
        .min(0)
        .max(1.5)
        .thresholds(thresholds(*PACE_THRESHOLDS))
        .show_threshold_markers(True)
        .show_threshold_labels(False)
    )


MASTER_ON_TRACK = Sql(
    columns=("on_track",),
    text=f"""
        SELECT on_track
{_MASTER_ROW}""",
)


def master_on_track(opts: Options) -> stat.Panel:
    return (
        prepare(
            stat.Panel(),
            opts,
            "On track?",
            MASTER_ON_TRACK,
            w=4,
            h=8,
            description="Whether the projected end of quarter reaches the target.",
        )
        .reduce_options(cb.ReduceDataOptions().values(False).calcs(["lastNotNull"]).fields(""))
        .mappings([ON_TRACK_MAPPING])
        .unit("none")
        .color_mode(cm.BigValueColorMode.BACKGROUND)
        .graph_mode(cm.BigValueGraphMode.NONE)
        .text_mode(cm.BigValueTextMode.VALUE)
    )


FOCUS_KPIS = Sql(
    columns=("kpi", "actual", "target", "pace", "projected_end", "on_track"),
    text="""
        SELECT
            kpi,
            actual_to_date AS actual,
            target,
            pace_ratio AS pace,
            projected_end,
            on_track
        FROM kpi_pacing
        WHERE is_master = 0
          AND (dimension_kind = 'all'
               OR (dimension_kind = 'team' AND hex(dimension) IN (${team:singlequote})))
        ORDER BY focus_rank, kpi, dimension_kind = 'team' DESC
        LIMIT 1 BY kpi
    """,
)


def focus_kpis(opts: Options) -> table.Panel:
    return (
        prepare(
            table.Panel(),
            opts,
            "Other focus KPIs",
            FOCUS_KPIS,
            w=12,
            h=8,
            description="The quarter's other focus KPIs: quarter to date against target.",
        )
        .show_header(True)
        .override_by_name(
            "pace",
            [
                prop("unit", "percentunit"),
                prop("min", 0),
                prop("max", 1.5),
                prop("thresholds", thresholds(*PACE_THRESHOLDS).build()),
                prop("custom.cellOptions", {"type": "gauge", "mode": "basic"}),
            ],
        )
        .override_by_name(
            "on_track",
            [
                prop("mappings", [ON_TRACK_MAPPING]),
                prop("custom.cellOptions", {"type": "color-background"}),
                prop("displayName", "on track"),
            ],
        )
    )
