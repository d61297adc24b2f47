"""Coaching panels: one rep beside the rep's team, never a list of reps (docs/coaching.md).

Every query here reads the coaching views (`coaching_stays`, `coaching_closes`) or the raw log
for exactly one rep, `hex(rep_id) = ${rep:singlequote}` (the variable is single-select, without
"All"), and for the team that rep belongs to at the end of the time range. No query groups by,
orders by or returns a rep id: `guard.coaching_problems` refuses any that would.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import barchart, stat, table
from grafana_foundation_sdk.builders import common as cb
from grafana_foundation_sdk.models import common as cm

from kpiflow.dashboards.defaults import Options, Sql, bottom_legend, prepare, prop, thresholds
from kpiflow.events.fields import STAGES

_STAGE_ORDER = "[" + ", ".join(f"'{stage}'" for stage in STAGES) + "]"

# The rep's team at the end of the range: the team of the rep's latest event up to then.
_REP_TEAM = """
        WITH (
            SELECT argMax(team_id, occurred_at) FROM raw_events
            WHERE hex(rep_id) = ${rep:singlequote} AND occurred_at <= $__toTime
        ) AS rep_team"""

FUNNEL = Sql(
    columns=(
        "stage",
        "ended (rep)",
        "ended (team)",
        "forward (rep)",
        "forward (team)",
        "lost (rep)",
        "lost (team)",
        "median days (rep)",
        "median days (team)",
    ),
    text=f"""{_REP_TEAM}
        SELECT
            stage,
            countIf(is_rep) AS "ended (rep)",
            countIf(in_team) AS "ended (team)",
            countIf(is_rep AND outcome = 'forward') / nullIf(countIf(is_rep), 0)
                AS "forward (rep)",
            countIf(in_team AND outcome = 'forward') / nullIf(countIf(in_team), 0)
                AS "forward (team)",
            countIf(is_rep AND outcome = 'lost') / nullIf(countIf(is_rep), 0) AS "lost (rep)",
            countIf(in_team AND outcome = 'lost') / nullIf(countIf(in_team), 0) AS "lost (team)",
            if(countIf(is_rep) = 0, NULL, quantileExactInclusiveIf(0.5)(days, is_rep))
                AS "median days (rep)",
            if(countIf(in_team) = 0, NULL, quantileExactInclusiveIf(0.5)(days, in_team))
                AS "median days (team)"
        FROM
        (
            SELECT stage, outcome, days,
                   hex(rep_id) = ${{rep:singlequote}} AS is_rep,
                   team_id = rep_team AS in_team
            FROM coaching_stays
            WHERE $__dateFilter(ended_on)
              AND (hex(rep_id) = ${{rep:singlequote}} OR team_id = rep_team)
        )
        GROUP BY stage
        ORDER BY indexOf({_STAGE_ORDER}, stage)
    """,  # noqa: S608 (code constants; values are Grafana variables)
)


def funnel(opts: Options) -> table.Panel:
    panel = prepare(
        table.Panel(),
        opts,
        "Funnel by stage: the rep beside the team",
        FUNNEL,
        w=24,
        h=9,
        description=(
            "Stays in each open stage that a stage change ended in the range: how many, the "
            "share that moved forward (a later open stage or won) or was lost, and the "
            "median days in the stage. The team is the rep's team at the end of the range "
            "(the rep included). docs/coaching.md defines every number."
        ),
    ).show_header(True)
    for side in ("rep", "team"):
        for name in ("forward", "lost"):
            panel = panel.override_by_name(
                f"{name} ({side})", [prop("unit", "percentunit"), prop("decimals", 0)]
            )
        panel = panel.override_by_name(
            f"median days ({side})", [prop("unit", "d"), prop("decimals", 1)]
        )
    return panel


CLOSES = Sql(
    columns=(
        "close rate (rep)",
        "close rate (team)",
        "velocity (rep)",
        "velocity (team)",
        "won deals (rep)",
        "won deals (team)",
    ),
    text=f"""{_REP_TEAM}
        SELECT
            countIf(is_rep AND won = 1) / nullIf(countIf(is_rep), 0) AS "close rate (rep)",
            countIf(in_team AND won = 1) / nullIf(countIf(in_team), 0) AS "close rate (team)",
            if(countIf(is_rep AND won = 1 AND velocity_days IS NOT NULL) = 0, NULL,
               quantileExactInclusiveIf(0.5)(velocity_days, is_rep AND won = 1))
                AS "velocity (rep)",
            if(countIf(in_team AND won = 1 AND velocity_days IS NOT NULL) = 0, NULL,
               quantileExactInclusiveIf(0.5)(velocity_days, in_team AND won = 1))
                AS "velocity (team)",
            countIf(is_rep AND won = 1) AS "won deals (rep)",
            countIf(in_team AND won = 1) AS "won deals (team)"
        FROM
        (
            SELECT won, velocity_days,
                   hex(rep_id) = ${{rep:singlequote}} AS is_rep,
                   team_id = rep_team AS in_team
            FROM coaching_closes
            WHERE $__dateFilter(closed_on)
              AND (hex(rep_id) = ${{rep:singlequote}} OR team_id = rep_team)
        )
    """,  # noqa: S608 (code constants; values are Grafana variables)
)


def _side_by_side(opts: Options, title: str, sql: Sql, description: str) -> stat.Panel:
    """A row of plain numbers, each named: the rep's beside the team's (unit `short` unless an
    override says otherwise)."""
    return (
        prepare(stat.Panel(), opts, title, sql, w=24, h=6, description=description)
        .reduce_options(cb.ReduceDataOptions().values(False).calcs(["lastNotNull"]).fields(""))
        .text_mode(cm.BigValueTextMode.VALUE_AND_NAME)
        .color_mode(cm.BigValueColorMode.NONE)
        .graph_mode(cm.BigValueGraphMode.NONE)
        .thresholds(thresholds((None, "text")))
        .unit("short")
    )


def closes(opts: Options) -> stat.Panel:
    panel = _side_by_side(
        opts,
        "Close rate, deal velocity, won deals: the rep beside the team",
        CLOSES,
        "Close rate: won / (won + lost) over deals that closed in the range. Deal velocity: "
        "median days from deal.opened to won, over deals won in the range.",
    ).no_value("no deal closed in the range")
    for side in ("rep", "team"):
        panel = panel.override_by_name(
            f"close rate ({side})", [prop("unit", "percentunit"), prop("decimals", 0)]
        ).override_by_name(f"velocity ({side})", [prop("unit", "d"), prop("decimals", 1)])
    return panel


ACTIVITY_MIX = Sql(
    columns=("activity_type", "this rep", "team average per rep"),
    text=f"""{_REP_TEAM}
        SELECT
            activity_type,
            countIf(hex(rep_id) = ${{rep:singlequote}}) AS "this rep",
            countIf(team_id = rep_team) / greatest(uniqExactIf(rep_id, team_id = rep_team), 1)
                AS "team average per rep"
        FROM raw_events
        WHERE event_type = 'activity.logged' AND $__timeFilter(occurred_at)
          AND (hex(rep_id) = ${{rep:singlequote}} OR team_id = rep_team)
        GROUP BY activity_type
        ORDER BY activity_type
    """,  # noqa: S608 (code constants; values are Grafana variables)
)


def activity_mix(opts: Options) -> barchart.Panel:
    return (
        prepare(
            barchart.Panel(),
            opts,
            "Activities by type: the rep beside the team's average rep",
            ACTIVITY_MIX,
            w=24,
            h=9,
            description=(
                "activity.logged events in the range by type: the rep's count, and the team's "
                "count divided by the team's reps that logged an activity in the range."
            ),
        )
        .x_field("activity_type")
        .orientation(cm.VizOrientation.HORIZONTAL)
        .show_value(cm.VisibilityMode.AUTO)
        .unit("short")
        .fill_opacity(80)
        .legend(bottom_legend())
    )


RESULTS = Sql(
    columns=(
        "won value (rep)",
        "won value (team, per rep)",
        "activity points (rep)",
        "activity points (team, per rep)",
        "outbound contacts (rep)",
        "outbound contacts (team, per rep)",
    ),
    text=f"""{_REP_TEAM},
        (
            SELECT greatest(uniqExact(rep_id), 1) FROM raw_events
            WHERE team_id = rep_team AND $__timeFilter(occurred_at)
        ) AS team_reps
        SELECT
            sumIf(value, kpi = 'won_value' AND dimension_kind = 'rep') AS "won value (rep)",
            sumIf(value, kpi = 'won_value' AND dimension_kind = 'team') / team_reps
                AS "won value (team, per rep)",
            sumIf(value, kpi = 'activity_points' AND dimension_kind = 'rep')
                AS "activity points (rep)",
            sumIf(value, kpi = 'activity_points' AND dimension_kind = 'team') / team_reps
                AS "activity points (team, per rep)",
            sumIf(value, kpi = 'outbound_contacts' AND dimension_kind = 'rep')
                AS "outbound contacts (rep)",
            sumIf(value, kpi = 'outbound_contacts' AND dimension_kind = 'team') / team_reps
                AS "outbound contacts (team, per rep)"
        FROM kpi_values
        WHERE grain = 'day' AND $__dateFilter(period_start)
          AND kpi IN ('won_value', 'activity_points', 'outbound_contacts')
          AND ((dimension_kind = 'rep' AND hex(dimension) = ${{rep:singlequote}})
               OR (dimension_kind = 'team' AND dimension = rep_team))
    """,  # noqa: S608 (code constants; values are Grafana variables)
)


def results(opts: Options) -> stat.Panel:
    panel = _side_by_side(
        opts,
        "Won value, activity points, outbound contacts: the rep beside the team's average",
        RESULTS,
        "Day rows of kpi_values in the range: the rep's, and the team's divided by its reps "
        "with an event in the range.",
    )
    for side in ("rep", "team, per rep"):
        panel = panel.override_by_name(f"won value ({side})", [prop("unit", opts.money_unit)])
    return panel
