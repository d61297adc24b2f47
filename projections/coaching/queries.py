"""Reading one rep's coaching numbers, and the team's, for a period of local dates.

Insight values (stays, conversion, medians, close rate, velocity) come from the coaching views
(`coaching_stays`, `coaching_closes`: the KPI engine's stays, kept per deal by the projector);
counts and amounts (won deals and value, activity points, outbound contacts) from `kpi_values`
day rows, exactly as `report` reads them; activities by type from `raw_events`. Every query is
filtered to the one rep, or to the one team: nothing here lists or ranks reps.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from kpiflow.errors import ConfigError
from kpiflow.projections.coaching.funnel import OPEN_STAGES, Side, StageFunnel

# Medians are quantileExactInclusive(0.5): the engine's median, the mean of the two middle values.

STAYS_SQL = """
SELECT stage, count() AS ended, countIf(outcome = 'forward') AS forward,
       countIf(outcome = 'lost') AS lost, countIf(outcome = 'back') AS back,
       quantileExactInclusive(0.5)(days) AS median_days
FROM {db}.coaching_stays
WHERE {column} = {who:String}
  AND ended_on >= {start:Date} AND ended_on <= {end:Date}
GROUP BY stage
"""
CLOSES_SQL = """
SELECT countIf(won = 1) AS won_deals, countIf(won = 0) AS lost_deals,
       quantileExactInclusive(0.5)(velocity_days) AS velocity
FROM {db}.coaching_closes
WHERE {column} = {who:String}
  AND closed_on >= {start:Date} AND closed_on <= {end:Date}
"""
SUMS_SQL = """
SELECT kpi, sum(value) AS total
FROM {db}.kpi_values
WHERE grain = 'day' AND dimension_kind = {kind:String} AND dimension = {who:String}
  AND kpi IN ('won_value', 'activity_points', 'outbound_contacts')
  AND period_start >= {start:Date} AND period_start <= {end:Date}
GROUP BY kpi
"""
ACTIVITIES_SQL = """
SELECT activity_type, count() AS n
FROM {db}.raw_events
WHERE event_type = 'activity.logged' AND {column} = {who:String}
  AND occurred_at >= {since:DateTime64(6)} AND occurred_at < {until:DateTime64(6)}
GROUP BY activity_type
"""
REPS_SQL = """
SELECT uniqExact(rep_id) FROM {db}.raw_events
WHERE team_id = {team:String}
  AND occurred_at >= {since:DateTime64(6)} AND occurred_at < {until:DateTime64(6)}
"""
TEAM_SQL = """
SELECT argMax(team_id, occurred_at) AS team, count() AS events
FROM {db}.raw_events
WHERE rep_id = {rep:String} AND occurred_at < {until:DateTime64(6)}
"""


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive

    def instants(self, tz: ZoneInfo) -> dict[str, datetime]:
        """[start, end] as instants: from local midnight of `start` to local midnight after
        `end`, in UTC."""
        since = datetime.combine(self.start, time(), tz).astimezone(ZoneInfo("UTC"))
        until = datetime.combine(self.end + timedelta(days=1), time(), tz)
        return {
            "since": since.replace(tzinfo=None),
            "until": until.astimezone(ZoneInfo("UTC")).replace(tzinfo=None),
        }


def quarter(text: str) -> Period:
    """`2026-Q3` -> 2026-07-01 .. 2026-09-30."""
    try:
        year, q = text.upper().split("-Q")
        number = int(q)
        first = date(int(year), 3 * number - 2, 1)
    except ValueError:
        raise ConfigError(f"quarter {text!r}: write it as YYYY-Qn, e.g. 2026-Q3") from None
    following = date(first.year + (first.month == 10), (first.month + 2) % 12 + 1, 1)
    return Period(first, following - timedelta(days=1))


def team_of(store, rep: str, period: Period, tz: ZoneInfo) -> str:
    """The rep's team at the period's end: the team of the rep's latest event up to then."""
    row = store.rows(TEAM_SQL, {"rep": rep, "until": period.instants(tz)["until"]})[0]
    if not int(row["events"]):
        raise ConfigError(
            f"no events of rep {rep!r} up to {period.end}; rep ids are matched exactly (as "
            "in the events' rep_id)"
        )
    return str(row["team"])


def side(store, kind: str, who: str, period: Period, tz: ZoneInfo) -> Side:
    """The numbers of one rep (kind `rep`) or one team (kind `team`) for the period."""
    column = {"rep": "rep_id", "team": "team_id"}[kind]  # a fixed identifier, never input

    def sql(text: str) -> str:
        return text.replace("{column}", column)

    dates = {"start": period.start, "end": period.end}
    instants = period.instants(tz)
    by_stage = {r["stage"]: r for r in store.rows(sql(STAYS_SQL), {"who": who, **dates})}
    stages = tuple(
        StageFunnel(
            stage,
            int(by_stage[stage]["ended"]),
            int(by_stage[stage]["forward"]),
            int(by_stage[stage]["lost"]),
            int(by_stage[stage]["back"]),
            float(by_stage[stage]["median_days"]),
        )
        if stage in by_stage
        else StageFunnel(stage)
        for stage in OPEN_STAGES
    )
    closes = store.rows(sql(CLOSES_SQL), {"who": who, **dates})[0]
    sums = {
        r["kpi"]: float(r["total"])
        for r in store.rows(SUMS_SQL, {"kind": kind, "who": who, **dates})
    }
    activities = {
        r["activity_type"]: int(r["n"])
        for r in store.rows(sql(ACTIVITIES_SQL), {"who": who, **instants})
    }
    won = int(closes["won_deals"])
    velocity = closes["velocity"]
    reps = 1
    if kind == "team":
        reps = int(store.scalar(REPS_SQL, {"team": who, **instants}) or 0)
    return Side(
        who=who,
        stages=stages,
        won_deals=won,
        lost_deals=int(closes["lost_deals"]),
        won_value=sums.get("won_value", 0.0),
        velocity_days=None
        if not won or velocity is None or velocity != velocity
        else float(velocity),
        activities=dict(sorted(activities.items())),
        activity_points=sums.get("activity_points", 0.0),
        outbound_contacts=int(sums.get("outbound_contacts", 0)),
        reps=reps,
    )
