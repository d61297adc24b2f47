"""A small hand-computed team for coaching: team north, reps r1 and r2, four deals in July 2026.

    d1 (r1) prospect 07-01 -> qualified 07-03 -> proposal 07-08 -> won 07-18, amount 1000
    d2 (r1) qualified 07-02 -> proposal 07-04 -> lost 07-24
    d3 (r2) qualified 07-01 -> proposal 07-02 -> won 07-05, amount 500
    d4 (r2) proposal 07-03 -> negotiation 07-05 -> proposal 07-06 -> lost 07-10

All at 09:00Z. Stays (days, outcome): d1 prospect 2 forward, qualified 5 forward, proposal 10
forward; d2 qualified 2 forward, proposal 20 lost; d3 qualified 1 forward, proposal 3 forward;
d4 proposal 2 forward, negotiation 1 back, proposal 4 lost.
"""

from __future__ import annotations

from itertools import count

_ids = count(1)


def event(event_type: str, day: str, rep: str, deal: str, **fields) -> dict:
    return {
        "event_id": f"00000000-0000-4000-8000-{next(_ids):012d}",
        "event_type": event_type,
        "schema_version": 1,
        "occurred_at": f"2026-07-{day}T09:00:00Z",
        "source": "t",
        "rep_id": rep,
        "team_id": "north",
        "deal_id": deal,
        **fields,
    }


def opened(day: str, rep: str, deal: str, stage: str, amount: str = "0") -> dict:
    return event(
        "deal.opened", day, rep, deal, customer_id=f"c-{deal}", deal_kind="new_business",
        product="p", amount=amount, currency="EUR", stage=stage,
    )  # fmt: skip


def moved(day: str, rep: str, deal: str, to: str) -> dict:
    return event("deal.stage_changed", day, rep, deal, from_stage="prospect", to_stage=to)


def activity(day: str, rep: str, kind: str) -> dict:
    e = event("activity.logged", day, rep, "", activity_type=kind)
    del e["deal_id"]
    return e


EVENTS = [
    opened("01", "r1", "d1", "prospect", "1000"),
    moved("03", "r1", "d1", "qualified"),
    moved("08", "r1", "d1", "proposal"),
    moved("18", "r1", "d1", "won"),
    opened("02", "r1", "d2", "qualified"),
    moved("04", "r1", "d2", "proposal"),
    moved("24", "r1", "d2", "lost"),
    opened("01", "r2", "d3", "qualified", "500"),
    moved("02", "r2", "d3", "proposal"),
    moved("05", "r2", "d3", "won"),
    opened("03", "r2", "d4", "proposal"),
    moved("05", "r2", "d4", "negotiation"),
    moved("06", "r2", "d4", "proposal"),
    moved("10", "r2", "d4", "lost"),
    activity("06", "r1", "call"),
    activity("07", "r1", "call"),
    activity("07", "r1", "email"),
    activity("09", "r2", "meeting"),
]

# (ended, forward, lost, back, median days) per stage
REP_R1 = {
    "prospect": (1, 1, 0, 0, 2.0),
    "qualified": (2, 2, 0, 0, 3.5),
    "proposal": (2, 1, 1, 0, 15.0),
}
TEAM_NORTH = {
    "prospect": (1, 1, 0, 0, 2.0),
    "qualified": (3, 3, 0, 0, 2.0),
    "proposal": (5, 3, 2, 0, 4.0),  # [2, 3, 4, 10, 20]
    "negotiation": (1, 0, 0, 1, 1.0),
}
