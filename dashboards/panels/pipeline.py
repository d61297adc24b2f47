"""Pipeline and velocity.

The `pipeline_value` KPI (reporting currency, per team/rep, point in time at each period's end)
comes from the projections. The split by stage is not a KPI, so it is computed here from the raw
log: each deal's state after each of its `deal.*` events (stage, latest amount and currency,
owner) holds until its next event; the open deals' amounts are summed per stage at each instant
of the panel's interval grid. Amounts are in each deal's own currency (the raw log keeps no
rates), so the series are per stage *and* currency.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import barchart, table
from grafana_foundation_sdk.builders import common as cb
from grafana_foundation_sdk.models import common as cm

from kpiflow.dashboards.defaults import Options, Sql, bottom_legend, prepare, prop, time_series
from kpiflow.events.deals import TERMINAL_STAGES
from kpiflow.events.fields import STAGES

_STAGE_ORDER = "[" + ", ".join(f"'{stage}'" for stage in STAGES) + "]"
_TERMINAL = ", ".join(f"'{stage}'" for stage in TERMINAL_STAGES)
_FAR_FUTURE = 4102444800  # 2100-01-01T00:00:00Z, "no next event yet"

PIPELINE_BY_STAGE = Sql(
    columns=("time", "stage", "value"),
    time_series=True,
    text=f"""
        WITH
            $__interval_s AS step,
            intDiv(toUInt64(toUnixTimestamp($__fromTime)) + step - 1, step) AS first_slot,
            intDiv(toUInt64(toUnixTimestamp($__toTime)), step) AS last_slot
        SELECT
            toDateTime(slot * step) AS time,
            concat(current_stage, ' (', current_currency, ')') AS stage,
            sum(toFloat64OrZero(current_amount)) AS value
        FROM
        (
            -- each state holds from its event (valid_from) until the deal's next event:
            -- one row per grid instant slot * step inside that span and the time range
            SELECT
                current_stage,
                current_currency,
                current_amount,
                arrayJoin(range(
                    greatest(intDiv(valid_from + step - 1, step), first_slot),
                    least(intDiv(valid_to - 1, step), last_slot) + 1
                )) AS slot
            FROM
            (
                -- a deal's state after each of its deal.* events
                SELECT
                    toUInt64(toUnixTimestamp(occurred_at)) AS valid_from,
                    leadInFrame(valid_from, 1, toUInt64({_FAR_FUTURE})) OVER whole AS valid_to,
                    max(event_type = 'deal.opened') OVER so_far AS opened,
                    anyLast(nullIf(if(event_type = 'deal.opened', stage, to_stage), ''))
                        OVER so_far AS current_stage,
                    anyLast(nullIf(amount, '')) OVER so_far AS current_amount,
                    anyLast(nullIf(currency, '')) OVER so_far AS current_currency,
                    team_id,
                    rep_id
                FROM raw_events
                WHERE event_type IN ('deal.opened', 'deal.stage_changed', 'deal.amount_changed')
                  AND deal_id != ''
                  AND occurred_at <= $__toTime
                WINDOW
                    whole AS (PARTITION BY deal_id ORDER BY occurred_at, ingested_at
                              ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING),
                    so_far AS (PARTITION BY deal_id ORDER BY occurred_at, ingested_at
                               ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
            )
            WHERE opened = 1
              AND current_stage NOT IN ({_TERMINAL})
              AND current_amount IS NOT NULL
              AND hex(team_id) IN (${{team:singlequote}})
              AND hex(rep_id) IN (${{rep:singlequote}})
        )
        GROUP BY time, stage
        ORDER BY time, stage
    """,  # noqa: S608 (code constants and catalog names; values are Grafana variables)
)


def pipeline_by_stage(opts: Options) -> object:
    return (
        time_series(
            opts,
            "Open pipeline by stage",
            PIPELINE_BY_STAGE,
            label="stage",
            unit="short",
            bars=False,
            w=12,
            h=9,
            description=(
                "Sum of the current amounts of open deals per stage, at each instant of the "
                "interval grid (raw events; amounts in each deal's own currency). "
                "Owner: the rep/team of the deal's "
                "latest deal event at that instant."
            ),
        )
        .stacking(cb.StackingConfig().mode(cm.StackingMode.NORMAL).group("A"))
        .fill_opacity(40)
    )


PIPELINE_NOW = Sql(
    columns=("stage", "open_value"),
    text=f"""
        SELECT
            concat(last_stage, ' (', last_currency, ')') AS stage,
            sum(toFloat64OrZero(last_amount)) AS open_value
        FROM
        (
            SELECT
                deal_id,
                argMaxIf(
                    if(event_type = 'deal.opened', stage, to_stage),
                    (occurred_at, ingested_at),
                    event_type != 'deal.amount_changed'
                ) AS last_stage,
                argMaxIf(amount, (occurred_at, ingested_at), amount != '') AS last_amount,
                argMaxIf(currency, (occurred_at, ingested_at), currency != '') AS last_currency,
                argMax(team_id, (occurred_at, ingested_at)) AS owner_team,
                argMax(rep_id, (occurred_at, ingested_at)) AS owner_rep,
                countIf(event_type = 'deal.opened') > 0 AS opened
            FROM raw_events
            WHERE event_type IN ('deal.opened', 'deal.stage_changed', 'deal.amount_changed')
              AND deal_id != ''
              AND occurred_at <= $__toTime
            GROUP BY deal_id
        )
        WHERE opened
          AND last_stage NOT IN ({_TERMINAL})
          AND hex(owner_team) IN (${{team:singlequote}})
          AND hex(owner_rep) IN (${{rep:singlequote}})
        GROUP BY last_stage, last_currency
        ORDER BY indexOf({_STAGE_ORDER}, last_stage), last_currency
    """,  # noqa: S608 (code constants and catalog names; values are Grafana variables)
)


def pipeline_now(opts: Options) -> barchart.Panel:
    return (
        prepare(
            barchart.Panel(),
            opts,
            "Open pipeline at the end of the range, by stage",
            PIPELINE_NOW,
            w=12,
            h=9,
            description="Open deals at the end of the range, summed per stage (deal currency).",
        )
        .x_field("stage")
        .orientation(cm.VizOrientation.HORIZONTAL)
        .show_value(cm.VisibilityMode.AUTO)
        .unit("short")
        .fill_opacity(80)
        .legend(bottom_legend(show=False))
    )


STAGE_DAYS_LATEST = Sql(
    columns=("stage", "team", "median_days", "period"),
    text=f"""
        SELECT
            replaceOne(kpi, 'stage_days:', '') AS stage,
            dimension AS team,
            argMax(value, period_start) AS median_days,
            max(period_start) AS period
        FROM kpi_values
        WHERE startsWith(kpi, 'stage_days:')
          AND grain = ${{grain:singlequote}}
          AND dimension_kind = 'team'
          AND hex(dimension) IN (${{team:singlequote}})
          AND $__dateFilter(period_start)
        GROUP BY stage, team
        ORDER BY indexOf({_STAGE_ORDER}, stage), team
    """,  # noqa: S608 (code constants and catalog names; values are Grafana variables)
)


def stage_days_latest(opts: Options) -> table.Panel:
    return (
        prepare(
            table.Panel(),
            opts,
            "Time per stage (median days, latest period in range)",
            STAGE_DAYS_LATEST,
            w=12,
            h=9,
            description="`stage_days:<stage>` (insight KPI, teams only): median days in each stage "
            "over stays that ended in the period; the latest period in the range.",
        )
        .show_header(True)
        .override_by_name(
            "median_days",
            [
                prop("unit", "d"),
                prop("decimals", 1),
                prop("custom.cellOptions", {"type": "gauge", "mode": "basic"}),
            ],
        )
    )


STAGE_DAYS_SERIES = Sql(
    columns=("time", "series", "value"),
    time_series=True,
    text="""
        SELECT
            toDateTime(period_start, ${tz:singlequote}) AS time,
            concat(dimension, ' · ', replaceOne(kpi, 'stage_days:', '')) AS series,
            value
        FROM kpi_values
        WHERE startsWith(kpi, 'stage_days:')
          AND grain = ${grain:singlequote}
          AND dimension_kind = 'team'
          AND hex(dimension) IN (${team:singlequote})
          AND $__dateFilter(period_start)
        ORDER BY time, series
    """,
)


def stage_days_series(opts: Options) -> object:
    return time_series(
        opts,
        "Time per stage over time (median days)",
        STAGE_DAYS_SERIES,
        label="series",
        unit="d",
        w=24,
        h=9,
        description="`stage_days:<stage>` per team and stage (insight KPI, teams only).",
    )
