"""The engine's stays with the rep and where the deal went next: the one source of stage_days
and of coaching's funnel."""

from __future__ import annotations

import json
from datetime import date

from kpiflow.events import parse_event
from kpiflow.projections.definitions import DEFAULT_DEFINITION
from kpiflow.projections.engine import KpiEngine
from kpiflow.projections.records import record_from_event
from tests.projections.coaching.coaching_cases import EVENTS, moved
from tests.projections.kpi_events import UTC


def engine_over(events) -> KpiEngine:
    engine = KpiEngine(DEFAULT_DEFINITION, UTC)
    engine.apply(
        record_from_event(parse_event(json.dumps(e), "EUR"), seq) for seq, e in enumerate(events)
    )
    return engine


def test_stays_carry_the_rep_the_outcome_and_the_close():
    facts = dict(engine_over(EVENTS).take_coaching())
    assert sorted(facts) == ["d1", "d2", "d3", "d4"]
    d4 = facts["d4"]
    assert [(s.stage, s.days, s.outcome, s.rep, s.day) for s in d4.stays] == [
        ("proposal", 2.0, "forward", "r2", date(2026, 7, 5)),
        ("negotiation", 1.0, "back", "r2", date(2026, 7, 6)),
        ("proposal", 4.0, "lost", "r2", date(2026, 7, 10)),
    ]
    assert d4.close is not None and (d4.close.won, d4.close.velocity_days) == (False, None)
    d1 = facts["d1"]
    assert [(s.stage, s.outcome) for s in d1.stays] == [
        ("prospect", "forward"), ("qualified", "forward"), ("proposal", "forward")
    ]  # fmt: skip
    assert d1.close is not None and (d1.close.won, d1.close.velocity_days) == (True, 17.0)


def test_take_coaching_gives_only_what_changed_and_a_late_event_redoes_its_deal():
    engine = engine_over(EVENTS)
    assert len(engine.take_coaching()) == 4
    assert engine.take_coaching() == []
    again = dict(EVENTS[7])  # d3's opening once more under a new id: an amount, no new stay
    again["event_id"] = "00000000-0000-4000-8000-999999999998"
    late = moved("03", "r1", "d2", "meeting")  # d2 went qualified -> meeting before proposal
    engine.apply(
        record_from_event(parse_event(json.dumps(e), "EUR"), 100 + i)
        for i, e in enumerate((again, late))
    )
    changed = engine.take_coaching()
    assert [deal for deal, _ in changed] == ["d2"]
    assert [(s.stage, s.days, s.outcome) for s in changed[0][1].stays] == [
        ("qualified", 1.0, "forward"),
        ("meeting", 1.0, "forward"),
        ("proposal", 20.0, "lost"),
    ]


def test_team_stage_days_equal_the_medians_of_the_stays():
    engine = engine_over(EVENTS)
    rows = {
        (r.kpi, r.dimension): float(r.value)
        for r in engine.rows()
        if r.grain == "quarter" and r.kpi.startswith("stage_days:")
    }
    assert rows[("stage_days:proposal", "north")] == 4.0
    assert rows[("stage_days:qualified", "north")] == 2.0
    assert not [k for k in rows if k[1] in ("r1", "r2")]  # never per rep as a KPI
