"""Wallboard leaderboards: the team's reps ranked on an action or result KPI, current period.

Ranking reps on an insight KPI is refused here (InsightRankingError), before any SQL exists.
A rep belongs to the team they logged their latest event of the period for.
"""

from __future__ import annotations

from dataclasses import dataclass

from grafana_foundation_sdk.builders import bargauge
from grafana_foundation_sdk.builders import common as cb
from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.models import common as cm
from grafana_foundation_sdk.models import dashboard as model

from kpiflow.dashboards.activity_board import UID as ACTIVITY_UID
from kpiflow.dashboards.defaults import Options, Sql, prepare, thresholds
from kpiflow.dashboards.guard import require_rankable
from kpiflow.projections.catalog import kpi as catalog_kpi

# The first day of the current period, in the reporting time zone.
_PERIOD_NOW = {
    "day": "toDate(now(), ${tz:singlequote})",
    "week": "toMonday(toDate(now(), ${tz:singlequote}))",
    "month": "toStartOfMonth(toDate(now(), ${tz:singlequote}))",
    "quarter": "toStartOfQuarter(toDate(now(), ${tz:singlequote}))",
}
_PERIOD_NAME = {
    "day": "today",
    "week": "this week",
    "month": "this month",
    "quarter": "this quarter",
}


@dataclass(frozen=True)
class Leaderboard:
    """What a wallboard ranks reps on: a KPI of the catalog and the period grain."""

    kpi: str
    grain: str

    def __post_init__(self) -> None:
        require_rankable(self.kpi, where=f"leaderboard {self.kpi}/{self.grain}")
        spec = catalog_kpi(self.kpi)
        if self.grain not in _PERIOD_NOW or self.grain not in spec.grains:
            raise ValueError(
                f"leaderboard {self.kpi}: grain {self.grain!r} is not one of {spec.grains}"
            )

    @classmethod
    def parse(cls, text: str) -> Leaderboard:
        """`kpi` or `kpi/grain` (grain defaults to week)."""
        name, _, grain = text.strip().partition("/")
        return cls(name.strip(), grain.strip() or "week")


DEFAULT_LEADERBOARDS = (Leaderboard("activity_points", "week"), Leaderboard("won_value", "quarter"))


def leaderboard_sql(board: Leaderboard) -> Sql:
    period = _PERIOD_NOW[board.grain]
    return Sql(
        columns=("rep", "value"),
        text=f"""
            SELECT dimension AS rep, value
            FROM kpi_values
            WHERE kpi = '{board.kpi}'
              AND grain = '{board.grain}'
              AND dimension_kind = 'rep'
              AND period_start = {period}
              AND dimension IN (
                  -- the raw log without FINAL (a copy not merged yet has the same team), in
                  -- the period (its occurred_at index skips the rest)
                  SELECT rep_id
                  FROM raw_event_log
                  WHERE occurred_at >= toDateTime({period}, ${{tz:singlequote}})
                  GROUP BY rep_id
                  HAVING hex(argMax(team_id, occurred_at)) IN (${{team:singlequote}})
              )
            ORDER BY value DESC, rep
            LIMIT 10
        """,  # noqa: S608 (code constants and catalog names; values are Grafana variables)
    )


def leaderboard(opts: Options, board: Leaderboard, *, w: int = 6, h: int = 8) -> bargauge.Panel:
    spec = catalog_kpi(board.kpi)
    unit = opts.money_unit if spec.value_type == "amount" else "short"
    return (
        prepare(
            bargauge.Panel(),
            opts,
            f"Leaderboard: {board.kpi.replace('_', ' ')} {_PERIOD_NAME[board.grain]}",
            leaderboard_sql(board),
            w=w,
            h=h,
            description=(
                f"Top 10 reps of the team on `{board.kpi}` ({spec.kind} KPI), "
                f"{_PERIOD_NAME[board.grain]}."
            ),
        )
        .reduce_options(cb.ReduceDataOptions().values(True).calcs([]).fields("/^value$/").limit(10))
        .orientation(cm.VizOrientation.HORIZONTAL)
        .display_mode(cm.BarGaugeDisplayMode.GRADIENT)
        .value_mode(cm.BarGaugeValueMode.COLOR)
        .name_placement(cm.BarGaugeNamePlacement.LEFT)
        .show_unfilled(True)
        .unit(unit)
        .min(0)
        .thresholds(thresholds((None, "blue")))
        .links([team_activity_link()])
    )


def team_activity_link() -> dash.DashboardLink:
    """From a leaderboard to the team's page of the Sales activity dashboard."""
    return (
        dash.DashboardLink("Sales activity of the team")
        .type(model.DashboardLinkType.LINK)
        .url(f"/d/{ACTIVITY_UID}/?${{team:queryparam}}&${{__url_time_range}}")
        .icon("dashboard")
        .tooltip("")
        .tags([])
        .as_dropdown(False)
        .target_blank(False)
        .include_vars(False)
        .keep_time(False)
    )
