"""The live path (Kafka -> worker -> projections) gives the rows of a bulk rebuild; a replay
under a new definition equals a fresh rebuild, leaves the old version intact, and loses nothing
ingested while it runs."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import date
from zoneinfo import ZoneInfo

import pytest

from kpiflow.events import InvalidEvent, parse_event
from kpiflow.projections.definitions import DEFAULT_DEFINITION, Definition
from kpiflow.projections.engine import KpiEngine
from kpiflow.projections.records import record_from_event
from kpiflow.streams.producer import EventPublisher
from kpiflow.streams.simulator import OrgConfig, simulate_history, with_noise

pytestmark = pytest.mark.integration

UTC = ZoneInfo("UTC")


def noisy_quarter(seed: int = 5) -> list[dict | str]:
    cfg = OrgConfig(
        teams=2,
        reps_per_team=3,
        seed=seed,
        start=date(2026, 7, 1),
        days=92,
        activity_per_rep_per_day=6,
    )
    return list(
        with_noise(
            simulate_history(cfg),
            seed=seed,
            duplicate_rate=0.05,
            shuffle_window=40,
            invalid_rate=0.01,
        )
    )


def publish(pipeline, messages) -> None:
    publisher = EventPublisher(pipeline.settings())
    for m in messages:
        if isinstance(m, dict):
            key = (
                m.get("deal_id")
                or m.get("lead_id")
                or m.get("customer_id")
                or m.get("rep_id")
                or ""
            )
            publisher.send_valid(m, str(key))
        else:
            publisher.send_raw(m.encode() if isinstance(m, str) else m)
    publisher.flush()


def expected_rows(messages, definition: Definition) -> dict[tuple, float]:
    """The pure engine over the accepted events, in arrival order (the bulk rebuild)."""
    engine = KpiEngine(definition, UTC)
    records = []
    for seq, m in enumerate(messages):
        try:
            event = parse_event(json.dumps(m) if isinstance(m, dict) else m, "EUR")
        except InvalidEvent:
            continue
        records.append(record_from_event(event, seq))
    engine.apply(records)
    return {
        (r.kpi, r.grain, r.period_start.isoformat(), r.dimension_kind, r.dimension): float(r.value)
        for r in engine.rows()
    }


def live_rows(pipeline, version: int) -> dict[tuple, float]:
    rows = pipeline.gateway().rows(
        "SELECT kpi, grain, toString(period_start) AS p, dimension_kind, dimension, value "
        "FROM {db}.kpi_values_all_versions WHERE definition_version = {v:UInt32}",
        {"v": version},
    )
    return {
        (r["kpi"], r["grain"], r["p"], r["dimension_kind"], r["dimension"]): r["value"]
        for r in rows
    }


def assert_same(live: dict, expected: dict) -> None:
    missing = sorted(set(expected) - set(live))[:10]
    extra = sorted(set(live) - set(expected))[:10]
    assert not missing and not extra, f"missing {missing}, extra {extra}"
    wrong = [
        (k, live[k], expected[k])
        for k in expected
        if abs(live[k] - expected[k]) > 1e-6 * max(1.0, abs(expected[k]))
    ]
    assert not wrong, f"{len(wrong)} rows differ, e.g. {wrong[:5]}"


def accepted_count(messages) -> int:
    ids = set()
    for m in messages:
        if isinstance(m, dict):
            try:
                ids.add(parse_event(json.dumps(m), "EUR").event_id)
            except InvalidEvent:
                pass
    return len(ids)


def test_live_path_equals_bulk_rebuild(pipeline):
    messages = noisy_quarter()
    worker = pipeline.start_worker(KPIFLOW_BATCH_SIZE="400")
    worker.wait_ready()
    worker.wait_for_log("event loop: uvloop", timeout=5)  # the default loop is the one checked
    worker.wait_for_log("garbage collector: ", timeout=5)  # and the worker's collector settings
    settled = re.search(
        r"garbage collector: ([\d,]+) objects frozen, thresholds 50,000 ", worker.tail()
    )
    assert settled and int(settled[1].replace(",", "")) > 10_000, worker.tail()
    publish(pipeline, messages)
    pipeline.wait_caught_up(expected_raw=accepted_count(messages))
    assert_same(live_rows(pipeline, 1), expected_rows(messages, DEFAULT_DEFINITION))


def _cli(pipeline, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, **pipeline.env}
    env.pop("KPIFLOW_TEST_CHDB_DSN", None)
    return subprocess.run(
        [sys.executable, "-m", "kpiflow.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_replay_promote_loses_nothing_and_keeps_the_old_version(pipeline, tmp_path):
    messages = noisy_quarter(seed=9)
    first, during, after = (
        messages[: len(messages) // 2],
        messages[len(messages) // 2 : -300],
        messages[-300:],
    )
    worker = pipeline.start_worker(KPIFLOW_BATCH_SIZE="400")
    worker.wait_ready()
    publish(pipeline, first)
    pipeline.wait_caught_up(expected_raw=accepted_count(first))

    new_def = tmp_path / "def.yaml"
    new_def.write_text(
        "description: intake 15\npoints:\n  intake: 15\nqualification: [budget, authority, need, "
        "timing]\n"
    )
    replay = subprocess.Popen(
        [sys.executable, "-m", "kpiflow.cli", "replay", str(new_def), "--quarter", "2026-Q3"],
        env={
            k: v for k, v in {**os.environ, **pipeline.env}.items() if k != "KPIFLOW_TEST_CHDB_DSN"
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    publish(pipeline, during)  # live ingestion goes on while the replay runs
    out, _ = replay.communicate(timeout=300)
    assert replay.returncode == 0, out
    assert "kpiflow promote 2" in out
    assert "rows that differ" in out and "activity_points" in out  # intakes are worth 15 now
    assert "KPIs of both versions differ this quarter" in out
    promoted = _cli(pipeline, "promote", "2", "--note", "test")
    assert promoted.returncode == 0, promoted.stdout + promoted.stderr
    publish(pipeline, after)
    pipeline.wait_caught_up(expected_raw=accepted_count(messages))

    new_definition = Definition(
        version=2, points={"intake": 15}, qualification=("budget", "authority", "need", "timing")
    )
    assert_same(live_rows(pipeline, 2), expected_rows(messages, new_definition))
    assert_same(
        live_rows(pipeline, 1), expected_rows(messages, DEFAULT_DEFINITION)
    )  # old version intact
    report = _cli(pipeline, "report", "activity_points", "--grain", "quarter", "--by", "all")
    assert report.returncode == 0, report.stderr
    value = json.loads(report.stdout.splitlines()[0])["value"]
    assert (
        value
        == expected_rows(messages, new_definition)[
            ("activity_points", "quarter", "2026-07-01", "all", "all")
        ]
    )
