"""`kpiflow coach` through the real Kafka, the worker and the embedded ClickHouse: in a simulated
quarter where one rep's deals stall in proposal (their exits from it come 40 days later, so the
period coached runs on until those stays ended), coaching names proposal for that rep, and the
numbers equal the pure engine's stays over the same events."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date, datetime, timedelta
from statistics import median

import pytest

from kpiflow.streams.simulator import OrgConfig, simulate_history
from tests.integration.test_projections_live import _cli, publish

pytestmark = pytest.mark.integration

STALL = timedelta(days=40)


def stalled_quarter() -> tuple[list[dict], str]:
    cfg = OrgConfig(
        teams=2, reps_per_team=5, start=date(2026, 4, 1), days=91,
        activity_per_rep_per_day=2.0, seed=11,
    )  # fmt: skip
    events = list(simulate_history(cfg))
    exits = defaultdict(int)
    for e in events:
        if e["event_type"] == "deal.stage_changed" and e["from_stage"] == "proposal":
            exits[e["rep_id"]] += 1
    rep = max(sorted(exits), key=lambda r: exits[r])
    by_deal: dict[str, list[dict]] = defaultdict(list)
    for e in events:
        if e.get("deal_id"):
            by_deal[e["deal_id"]].append(e)
    for deal_events in by_deal.values():
        leave = next(
            (
                e
                for e in deal_events
                if e["event_type"] == "deal.stage_changed"
                and e["from_stage"] == "proposal"
                and e["rep_id"] == rep
            ),
            None,
        )
        if leave is None:
            continue
        cut = datetime.fromisoformat(leave["occurred_at"])
        for e in deal_events:  # the exit from proposal and everything after it, later
            at = datetime.fromisoformat(e["occurred_at"])
            if at >= cut:
                e["occurred_at"] = (at + STALL).isoformat()
    return events, rep


def test_a_rep_whose_deals_stall_in_proposal_is_told_so(pipeline):
    events, rep = stalled_quarter()
    worker = pipeline.start_worker()
    worker.wait_ready()
    publish(pipeline, events)
    pipeline.wait_caught_up(expected_raw=len({e["event_id"] for e in events}))
    done = _cli(pipeline, "coach", rep, "--from", "2026-04-01", "--to", "2026-08-31", "--json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["differences"], doc
    first = doc["differences"][0]
    assert (first["stage"], first["kind"]) == ("proposal", "time"), doc["differences"]
    assert first["text"].startswith("deals stay ") and "longer in proposal" in first["text"]
    # the rep's proposal numbers are the engine's stays, read back through the coaching view
    from tests.projections.coaching.test_coaching_stays import engine_over

    stays = [
        s
        for _deal, outcome in engine_over(events).take_coaching()
        for s in outcome.stays
        if s.rep == rep and s.stage == "proposal" and date(2026, 4, 1) <= s.day <= date(2026, 8, 31)
    ]
    proposal = next(s for s in doc["rep_funnel"]["stages"] if s["stage"] == "proposal")
    assert proposal["ended"] == len(stays)
    assert proposal["median_days"] == pytest.approx(median(s.days for s in stays), rel=1e-9)
    text = _cli(pipeline, "coach", rep, "--from", "2026-04-01", "--to", "2026-08-31")
    assert text.returncode == 0 and "where to look first:" in text.stdout
    assert "longer in proposal" in text.stdout
