"""Duplicates (exact and with other content), late and out-of-order arrivals and invalid
messages mixed into a simulated history (`with_noise` over `simulate_history`): the KPIs equal
those of the clean history, verify passes, the dead-letter topic holds exactly the rejects."""

from __future__ import annotations

import signal
import uuid

import pytest

from kpiflow.events import parse_event
from kpiflow.projections.definitions import DEFAULT_DEFINITION
from kpiflow.projections.engine import KpiEngine
from kpiflow.projections.records import record_from_event
from kpiflow.projections.verify.kpis import projected, same_value
from tests.faults.helpers import (
    Workload,
    assert_dlq_holds_exactly,
    differences,
    noisy_history,
    publish,
    run_verify,
)

pytestmark = [pytest.mark.fault, pytest.mark.integration]


def test_noisy_stream_gives_the_kpis_of_the_clean_history(pipeline):
    workload = noisy_history(seed=21)
    s = pipeline.settings()
    publish(s, workload)
    worker = pipeline.start_worker()
    worker.wait_ready()
    pipeline.wait_caught_up(expected_raw=len(workload.event_ids))
    engine = KpiEngine(DEFAULT_DEFINITION, s.pipeline.tz)
    engine.apply(
        record_from_event(parse_event(e, s.pipeline.currency), seq)
        for seq, e in enumerate(workload.clean)
    )
    clean = {row.key: float(row.value) for row in engine.rows()}
    live = projected(pipeline.gateway(), DEFAULT_DEFINITION.version)
    assert set(live) == set(clean)
    wrong = {k: (clean[k], live[k]) for k in clean if not same_value(clean[k], live[k], 1e-9)}
    assert not wrong
    code, doc = run_verify(pipeline)
    assert code == 0, (differences(doc), doc)
    assert doc["stats"]["duplicate_messages"] > 100
    assert_dlq_holds_exactly(s, workload)


def deal_events(n: int, day: int, **fields) -> dict:
    base = {
        "event_id": str(uuid.UUID(int=n, version=4)), "schema_version": 1, "source": "test",
        "occurred_at": f"2026-10-{day:02d}T10:00:00+00:00", "rep_id": "rep-1", "team_id": "team-a",
    }  # fmt: skip
    return {**base, **fields}


def test_a_late_correction_after_a_restart_retracts_what_was_projected_before(pipeline):
    """A deal is projected as won; the worker is killed; then its earlier-occurring 'lost'
    arrives (late). The restarted worker rebuilds from the raw log and must also remove the
    rows the first process wrote from what it knew then (won deals, won value, ...)."""
    s = pipeline.settings()
    before, after = Workload(), Workload()
    opened = {"event_type": "deal.opened", "deal_kind": "new_business", "product": "enterprise",
              "amount": "1000", "currency": "EUR", "stage": "prospect"}  # fmt: skip
    changed = {"event_type": "deal.stage_changed", "from_stage": "proposal"}
    for d in range(5):
        deal = f"deal-{d}"
        before.add_valid(deal_events(100 + d, 1, **opened, deal_id=deal, customer_id=f"c-{d}"))
        before.add_valid(deal_events(200 + d, 20, **changed, to_stage="won", deal_id=deal))
        after.add_valid(deal_events(300 + d, 10, **changed, to_stage="lost", deal_id=deal))
    publish(s, before)
    first = pipeline.start_worker()
    first.wait_ready()
    pipeline.wait_caught_up(expected_raw=len(before.event_ids))
    first.kill(signal.SIGKILL)
    publish(s, after)
    second = pipeline.start_worker()
    second.wait_ready()
    pipeline.wait_caught_up(expected_raw=len(before.event_ids | after.event_ids))
    won = pipeline.gateway().scalar(
        "SELECT sum(value) FROM {db}.kpi_values WHERE kpi = 'won_deals' AND dimension_kind = 'all'"
    )
    assert won == 0  # every deal was lost first: no won deal anywhere
    code, doc = run_verify(pipeline)
    assert code == 0, (differences(doc), doc)
