"""Duplicates (exact and with other content), late and out-of-order arrivals and invalid
messages mixed into a simulated history (`with_noise` over `simulate_history`): the KPIs equal
those of the clean history, verify passes, the dead-letter topic holds exactly the rejects."""

from __future__ import annotations

import pytest

from events import parse_event
from projections.definitions import DEFAULT_DEFINITION
from projections.engine import KpiEngine
from projections.records import record_from_event
from projections.verify.kpis import projected, same_value
from tests.faults.helpers import (
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
