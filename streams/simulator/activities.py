"""Activities reps log: how many per day, at what local hour, of which type, about what.

This is the hot loop of the simulator (nine events in ten are activities), so draws go through
precomputed lookup tables indexed by `random()`, and each event is built as one dict.
"""

from __future__ import annotations

from random import Random

from kpiflow.streams.simulator.clock import DayCalendar
from kpiflow.streams.simulator.deal_flow import SOURCE, DealFlow, Scheduled
from kpiflow.streams.simulator.org import Org
from kpiflow.streams.simulator.sales_facts import poisson

# Busyness by weekday (Monday..Sunday), relative to `activity_per_rep_per_day`.
DAY_FACTOR = (1.05, 1.0, 1.0, 0.97, 0.85, 0.07, 0.04)

# (activity_type, direction, share in percent). Direction None: an outbound activity logged by a
# tool that leaves `direction` out (the contract's default), so consumers meet both forms.
ACTIVITY_MIX = (
    ("call", "outbound", 24.0),
    ("call", None, 1.5),
    ("call", "inbound", 5.0),
    ("voicemail", "outbound", 11.0),
    ("voicemail", None, 0.5),
    ("voicemail", "inbound", 0.5),
    ("email", "outbound", 22.0),
    ("email", None, 1.5),
    ("email", "inbound", 6.5),
    ("linkedin_message", "outbound", 13.0),
    ("linkedin_message", "inbound", 2.5),
    ("meeting", "outbound", 4.5),
    ("meeting", "inbound", 1.0),
    ("intake", "outbound", 2.0),
    ("intake", "inbound", 1.0),
    ("demo", "outbound", 2.7),
    ("demo", "inbound", 0.3),
)
# Chance that an activity of a type is about (a deal, a lead, a customer); the rest is prospecting.
REFERS_TO = {
    "call": (0.12, 0.10, 0.05),
    "voicemail": (0.05, 0.15, 0.02),
    "email": (0.12, 0.10, 0.06),
    "linkedin_message": (0.02, 0.15, 0.01),
    "meeting": (0.45, 0.05, 0.15),
    "intake": (0.0, 0.7, 0.0),
    "demo": (0.55, 0.2, 0.05),
}
DEAL_WITH_CUSTOMER = 0.5  # an activity about a deal also names its customer half of the time

# Weight of each local hour; activities happen inside working hours.
WEEKDAY_HOURS = {
    7: 0.15,
    8: 0.7,
    9: 1.0,
    10: 1.1,
    11: 1.05,
    12: 0.55,
    13: 0.85,
    14: 1.0,
    15: 1.0,
    16: 0.9,
    17: 0.55,
    18: 0.2,
    19: 0.05,
}
WEEKEND_HOURS = {
    9: 0.3,
    10: 0.8,
    11: 1.0,
    12: 0.8,
    13: 0.7,
    14: 0.8,
    15: 0.7,
    16: 0.5,
    17: 0.3,
    18: 0.2,
    19: 0.2,
}


def _table(weighted: list[tuple[object, float]], size: int = 10_000) -> tuple:
    total = sum(w for _, w in weighted)
    table = []
    for value, weight in weighted:
        table.extend([value] * round(weight / total * size))
    return tuple(table)


KIND_TABLE = _table([((t, d, REFERS_TO[t]), share) for t, d, share in ACTIVITY_MIX])
_WEEKDAY_STARTS = _table([(h * 3600, w) for h, w in WEEKDAY_HOURS.items()], 1000)
_WEEKEND_STARTS = _table([(h * 3600, w) for h, w in WEEKEND_HOURS.items()], 1000)


def rep_day_weight(calendar: DayCalendar, org: Org) -> float:
    """Expected activities of the whole history per unit of `activity_per_rep_per_day`."""
    factors = sum(DAY_FACTOR[calendar.weekday(d)] for d in range(calendar.days))
    return factors * sum(rep.pace for rep in org.reps)


def activities_of_day(
    day: int, calendar: DayCalendar, org: Org, pipeline: DealFlow, rng: Random, rate: float
) -> list[Scheduled]:
    """Every rep's activities of one local day (unsorted)."""
    weekday = calendar.weekday(day)
    factor = DAY_FACTOR[weekday] * rate
    starts = _WEEKDAY_STARTS if weekday < 5 else _WEEKEND_STARTS
    n_starts, n_kinds = len(starts), len(KIND_TABLE)
    random = rng.random
    out: list[Scheduled] = []
    append = out.append
    for rep in org.reps:
        rep_id, team_id = rep.rep_id, rep.team_id
        for _ in range(poisson(rng, factor * rep.pace)):
            activity_type, direction, (p_deal, p_lead, p_customer) = KIND_TABLE[
                int(random() * n_kinds)
            ]
            event = {
                "event_id": "",
                "event_type": "activity.logged",
                "schema_version": 1,
                "occurred_at": "",
                "source": SOURCE,
                "rep_id": rep_id,
                "team_id": team_id,
                "activity_type": activity_type,
            }
            if direction is not None:
                event["direction"] = direction
            x = random()
            if x < p_deal:
                deal = pipeline.deal_for(rep, day, rng)
                if deal is not None:
                    event["deal_id"] = deal.deal_id
                    if random() < DEAL_WITH_CUSTOMER:
                        event["customer_id"] = deal.customer.customer_id
            elif x < p_deal + p_lead:
                lead = pipeline.lead_for(rep, day, rng)
                if lead is not None:
                    event["lead_id"] = lead.lead_id
            elif x < p_deal + p_lead + p_customer:
                customer = pipeline.customer_for(rep, rng)
                if customer is not None:
                    event["customer_id"] = customer.customer_id
            append((starts[int(random() * n_starts)] + int(random() * 3600), event))
    return out
