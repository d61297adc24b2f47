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
    listed = json.loads(_cli(pipeline, "definitions", "--json").stdout)
    assert [(v["version"], v["live"]) for v in listed] == [(1, False), (2, True)]
    assert set(listed[1]["definition"]["kpis"]) == set(CUSTOM)
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


PLAN = """
quarter: 2026-Q3
focus:
  - kpi: show_appointments
    master: true
    targets:
      all: 40
      team: 20
      rep: 5
  - kpi: show_close_rate
    targets:
      all: 0.3
      team: 0.3
review:
  rhythm: weekly
  day: fri
reward: "Dinner when the expo appointments are on target"
definition_version: 2
"""


def test_a_custom_kpi_is_the_master_kpi_of_a_plan(pipeline, tmp_path):
    messages = noisy_quarter(seed=12)
    worker = pipeline.start_worker(KPIFLOW_BATCH_SIZE="400")
    worker.wait_ready()
    publish(pipeline, messages)
    pipeline.wait_caught_up(expected_raw=accepted_count(messages))
    definition = tmp_path / "focus.yaml"
    definition.write_text(DEFINITION)
    assert _cli(pipeline, "replay", str(definition)).returncode == 0
    assert _cli(pipeline, "promote", "2").returncode == 0

    plan = tmp_path / "plan.yaml"
    plan.write_text(PLAN)
    checked = _cli(pipeline, "plan", "check", str(plan))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    per_rep = tmp_path / "per-rep.yaml"
    per_rep.write_text(PLAN.replace("      team: 0.3\n", "      team: 0.3\n      rep: 0.3\n"))
    refused = _cli(pipeline, "plan", "check", str(per_rep))
    assert refused.returncode != 0
    assert "show_close_rate is an insight KPI" in refused.stdout + refused.stderr
    applied = _cli(pipeline, "plan", "apply", str(plan))
    assert applied.returncode == 0, applied.stdout + applied.stderr

    board = _cli(pipeline, "flow", "--as-of", "2026-09-30")
    assert board.returncode == 0, board.stdout + board.stderr
    assert "show_appointments" in board.stdout
    targets = pipeline.gateway().rows(
        "SELECT kpi, is_master, kpi_kind, accumulation FROM {db}.plan_targets_current "
        "WHERE dimension_kind = 'all' ORDER BY kpi"
    )
    assert [(t["kpi"], t["is_master"], t["kpi_kind"]) for t in targets] == [
        ("show_appointments", 1, "result"),
        ("show_close_rate", 0, "insight"),
    ]
