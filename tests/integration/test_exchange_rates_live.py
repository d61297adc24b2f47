"""Exchange rates through the real Kafka, the worker and the embedded ClickHouse: an amount in
another currency counts converted at the rate of its date, one without a rate is dead-lettered,
and a replay after a rates change builds a version with the new rates beside the old one."""

from __future__ import annotations

import json

import pytest

from tests.integration.test_projections_live import _cli, live_rows, publish
from tests.support.pipeline_env import read_topic

pytestmark = pytest.mark.integration


def won(n: int, amount: str, currency: str) -> list[dict]:
    base = {"schema_version": 1, "source": "t", "rep_id": "r1", "team_id": "north",
            "deal_id": f"fx-{n}"}  # fmt: skip
    return [
        base | {
            "event_id": f"00000000-0000-4000-8000-{2 * n:012d}", "event_type": "deal.opened",
            "occurred_at": "2026-07-10T09:00:00Z", "customer_id": f"c{n}",
            "deal_kind": "new_business", "product": "p", "amount": amount,
            "currency": currency, "stage": "proposal",
        },
        base | {
            "event_id": f"00000000-0000-4000-8000-{2 * n + 1:012d}",
            "event_type": "deal.stage_changed", "occurred_at": "2026-07-20T09:00:00Z",
            "from_stage": "proposal", "to_stage": "won",
        },
    ]  # fmt: skip


def won_value(pipeline, version: int) -> float:
    rows = live_rows(pipeline, version)
    return rows[("won_value", "quarter", "2026-07-01", "all", "all")]


def test_converted_amounts_and_a_replay_after_a_rates_change(pipeline, tmp_path):
    rates = tmp_path / "rates.csv"
    rates.write_text("currency,valid_from,rate\nUSD,2026-01-01,0.9\n")
    pipeline.env["KPIFLOW_EXCHANGE_RATES_FILE"] = str(rates)
    worker = pipeline.start_worker()
    worker.wait_ready()
    publish(pipeline, won(1, "1000", "USD") + won(2, "500", "EUR") + won(3, "100", "GBP")[:1])
    pipeline.wait_caught_up(expected_raw=4)
    assert won_value(pipeline, 1) == 900 + 500  # 1000 USD at 0.9, and 500 EUR
    (dead,) = read_topic(pipeline.settings(), pipeline.env["KPIFLOW_KAFKA_DLQ_TOPIC"])
    reason = dict(dead.headers())["kpiflow-error"].decode()
    assert "no GBP rate valid on 2026-07-10" in reason

    rates.write_text("currency,valid_from,rate\nUSD,2026-01-01,0.8\n")  # a correction
    definition = tmp_path / "same.yaml"
    definition.write_text('description: "USD rate corrected to 0.8"\n')
    done = _cli(pipeline, "replay", str(definition), "--quarter", "2026-Q3")
    assert done.returncode == 0, done.stdout + done.stderr
    assert won_value(pipeline, 2) == 800 + 500
    assert won_value(pipeline, 1) == 900 + 500  # the live version keeps its own rates
    shown = json.loads(_cli(pipeline, "definitions", "--json").stdout)
    assert shown[1]["definition"]["exchange_rates"]["rates"] == [["USD", "2026-01-01", "0.8"]]
    assert _cli(pipeline, "promote", "2").returncode == 0
