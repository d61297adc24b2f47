"""Sales activity: what reps did, from `kpi_values` (counts, points) and `raw_events` (types)."""

from __future__ import annotations

from grafana_foundation_sdk.builders import bargauge, table
from grafana_foundation_sdk.builders import common as cb
from grafana_foundation_sdk.models import common as cm

from kpiflow.dashboards.defaults import Options, Sql, prepare, prop, thresholds, time_series
from kpiflow.dashboards.guard import require_rankable

# The raw log without FINAL, in the time range (its occurred_at index skips the rest); a copy not
# merged yet is dropped by LIMIT 1 BY event_id. Every 10 s on the wallboard.
RECENT_ACTIVITY = Sql(
    columns=("time", "rep", "event", "detail"),
    text="""
        SELECT
            occurred_at AS time,
            rep_id AS rep,
            event_type AS event,
            multiIf(
                event_type = 'activity.logged', concat(activity_type, ' (', direction, ')'),
                event_type = 'deal.opened',
                    concat(deal_kind, ' ', product, ': ', amount, ' ', currency),
                event_type = 'deal.stage_changed',
                    concat(deal_id, ': ', from_stage, ' -> ', to_stage),
                event_type = 'deal.amount_changed', concat(deal_id, ': ', amount, ' ', currency),
                startsWith(event_type, 'lead.'), lead_id,
                event_type = 'customer.churned', customer_id,
                ''
            ) AS detail
        FROM raw_event_log
        WHERE hex(team_id) IN (${team:singlequote}) AND $__timeFilter(occurred_at)
        ORDER BY occurred_at DESC
        LIMIT 1 BY event_id
        LIMIT 20
    """,
)


def recent_activity(opts: Options, *, w: int = 24, h: int = 10) -> table.Panel:
    return (
        prepare(
            table.Panel(),
            opts,
            "Recent activity",
            RECENT_ACTIVITY,
            w=w,
            h=h,
            description="The team's latest 20 events (any type) in the time range, newest first.",
        )
        .show_header(True)
        .cell_height(cm.TableCellHeight.SM)
        .override_by_name("time", [prop("custom.width", 200)])
    )


ACTIVITIES_BY_TYPE = Sql(
    columns=("time", "activity_type", "activities"),
    time_series=True,
    text="""
        SELECT
            $__timeInterval(occurred_at) AS time,
            activity_type,
            count() AS activities
        FROM raw_events
        WHERE event_type = 'activity.logged'
          AND hex(team_id) IN (${team:singlequote})
          AND hex(rep_id) IN (${rep:singlequote})
          AND $__timeFilter(occurred_at)
        GROUP BY time, activity_type
        ORDER BY time, activity_type
    """,
)


def activities_by_type(opts: Options) -> object:
    return time_series(
        opts,
        "Activities by type",
        ACTIVITIES_BY_TYPE,
        label="activity_type",
        unit="short",
        bars=True,
        w=12,
        h=8,
        description="Activities of the selected teams and reps per interval and type (raw events).",
    )


ACTIVITY_MIX = Sql(
    columns=("activity_type", "activities"),
    text="""
        SELECT activity_type, count() AS activities
        FROM raw_events
        WHERE event_type = 'activity.logged'
          AND hex(team_id) IN (${team:singlequote})
          AND hex(rep_id) IN (${rep:singlequote})
          AND $__timeFilter(occurred_at)
        GROUP BY activity_type
        ORDER BY activities DESC, activity_type
    """,
)


def activity_mix(opts: Options) -> bargauge.Panel:
    return (
        prepare(
            bargauge.Panel(),
            opts,
            "Activity mix in the range",
            ACTIVITY_MIX,
            w=12,
            h=8,
            description="Logged activities by type over the whole time range (raw events).",
        )
        .reduce_options(cb.ReduceDataOptions().values(True).calcs([]).fields("/^activities$/"))
        .orientation(cm.VizOrientation.HORIZONTAL)
        .display_mode(cm.BarGaugeDisplayMode.BASIC)
        .unit("short")
        .min(0)
        .thresholds(thresholds((None, "green")))
    )


_SUMMARY_KPIS = ("activities", "outbound_contacts", "activity_points")

REP_SUMMARY = Sql(
    columns=("rep", *_SUMMARY_KPIS),
    text="""
        SELECT
            dimension AS rep,
            sumIf(value, kpi = 'activities') AS activities,
            sumIf(value, kpi = 'outbound_contacts') AS outbound_contacts,
            sumIf(value, kpi = 'activity_points') AS activity_points
        FROM kpi_values
        WHERE kpi IN ('activities', 'outbound_contacts', 'activity_points')
          AND grain = 'day'
          AND dimension_kind = 'rep'
          AND hex(dimension) IN (${rep:singlequote})
          AND $__dateFilter(period_start)
        GROUP BY rep
        ORDER BY activity_points DESC, rep
    """,
)


def rep_summary(opts: Options) -> table.Panel:
    for name in _SUMMARY_KPIS:  # a rep table: action and result KPIs only
        require_rankable(name, where="the rep activity summary")
    return (
        prepare(
            table.Panel(),
            opts,
            "Reps: activities in the range",
            REP_SUMMARY,
            w=12,
            h=10,
            description="Per rep, summed over the days of the time range (kpi_values, day grain).",
        )
        .show_header(True)
        .sort_by([cb.TableSortByFieldState().display_name("activity_points").desc(True)])
        .override_by_name(
            "activity_points",
            [
                prop("custom.cellOptions", {"type": "gauge", "mode": "basic"}),
                prop("color", {"mode": "continuous-BlPu"}),
            ],
        )
    )
