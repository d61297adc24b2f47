"""Custom KPIs end to end: publish, worker, replay a definition with custom KPIs while ingest
goes on, promote, report; the live rows equal the pure engine's over the accepted events."""

from __future__ import annotations

import json

import pytest

from kpiflow.projections.definition_file import parse_definition_text
from tests.integration.test_projections_live import (
    _cli,
    accepted_count,
    assert_same,
    expected_rows,
    live_rows,
    noisy_quarter,
    publish,
)

pytestmark = pytest.mark.integration

DEFINITION = """
description: "Q3 focus: trade shows and the old lead list"
kpis:
  show_appointments:
    kind: result
    description: "Meetings and intakes with leads from any trade show"
    base: activities
    where:
      activity_type: [meeting, intake]
      lead.channel: {prefix: "trade-show:"}
  list_followups:
    kind: action
    description: "Outbound contacts with leads from the old lead list"
    base: outbound_contacts
    where:
      lead.channel: outbound-list
  show_qualified:
    kind: result
    description: "Qualified leads from trade shows"
    base: qualified_leads
    where:
      lead.channel: {prefix: "trade-show:"}
  upsells_opened:
    kind: result
    description: "Upsell deals opened"
    base: deals_opened
    where:
      deal.kind: upsell
  show_new_business:
    kind: result
    description: "Won new business from trade-show leads"
    base: won_value
    where:
      lead.channel: {prefix: "trade-show:"}
      deal.kind: new_business
  enterprise_pipeline:
    kind: result
    description: "Open enterprise value"
    base: pipeline_value
    where:
      deal.product: enterprise
  show_close_rate:
    description: "Close rate of trade-show deals"
    base: close_rate
    where:
      lead.channel: {prefix: "trade-show:"}
"""
CUSTOM = (
    "show_appointments",
    "list_followups",
    "show_qualified",
    "upsells_opened",
    "show_new_business",
    "enterprise_pipeline",
    "show_close_rate",
)


def test_replay_with_custom_kpis_promote_and_report(pipeline, tmp_path):
    messages = noisy_quarter(seed=11)
    first, rest = messages[: len(messages) // 2], messages[len(messages) // 2 :]
    worker = pipeline.start_worker(KPIFLOW_BATCH_SIZE="400")
    worker.wait_ready()
    publish(pipeline, first)
    pipeline.wait_caught_up(expected_raw=accepted_count(first))

    path = tmp_path / "focus.yaml"
    path.write_text(DEFINITION)
    checked = _cli(pipeline, "definitions", "check", str(path))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    publish(pipeline, rest)  # ingest goes on while the replay runs
    replay = _cli(pipeline, "replay", str(path), "--quarter", "2026-Q3")
    assert replay.returncode == 0, replay.stdout + replay.stderr
    assert "new KPIs in v2" in replay.stdout and "show_appointments" in replay.stdout
    promoted = _cli(pipeline, "promote", "2", "--note", "trade-show focus")
    assert promoted.returncode == 0, promoted.stdout + promoted.stderr
    pipeline.wait_caught_up(expected_raw=accepted_count(messages))

    definition = parse_definition_text(DEFINITION).model_copy(update={"version": 2})
    expected = expected_rows(messages, definition)
    for name in CUSTOM:
        assert any(key[0] == name for key in expected), f"{name}: no rows in the test data"
    assert_same(live_rows(pipeline, 2), expected)

    report = _cli(pipeline, "report", "show_appointments", "--grain", "quarter", "--by", "all")
    assert report.returncode == 0, report.stderr
    value = json.loads(report.stdout.splitlines()[0])["value"]
    assert value == expected[("show_appointments", "quarter", "2026-07-01", "all", "all")]
    by_rep = _cli(pipeline, "report", "show_close_rate", "--grain", "quarter", "--by", "rep")
    assert by_rep.returncode != 0 and "insight" in by_rep.stderr  # never per rep
    verify = _cli(pipeline, "verify", "--settle", "60")
    assert verify.returncode == 0, verify.stdout + verify.stderr
