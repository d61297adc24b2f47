"""Celebrations through the real Kafka, the worker and the embedded ClickHouse: a Master KPI
target reached mid-quarter yields exactly one achievement, `flow` shows it, and the wallboard's
annotation query returns it."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from kpiflow.dashboards.build import build_all
from kpiflow.dashboards.defaults import Options, variable_value
from kpiflow.dashboards.macros import QueryContext, expand
from tests.integration.test_projections_live import _cli, publish
from tests.projections.test_achievements import plan, quarter_of, won

pytestmark = pytest.mark.integration


def logged(pipeline) -> int:
    return int(pipeline.gateway().scalar("SELECT count() FROM {db}.achievement_log"))


def test_a_target_reached_mid_quarter_is_celebrated_once(pipeline, tmp_path):
    worker = pipeline.start_worker(KPIFLOW_CELEBRATE_SECONDS="0.5")
    worker.wait_ready()
    now = datetime.now(UTC)
    today = now.date()
    first_day = datetime.combine(quarter_of(today)[1], datetime.min.time(), UTC)
    at = max(now - timedelta(hours=1), first_day)
    plan_file = tmp_path / "plan.yaml"
    plan_file.write_text(plan(today, north=1000))
    done = _cli(pipeline, "plan", "apply", str(plan_file))
    assert done.returncode == 0, done.stderr

    publish(pipeline, won(1, "north", "800", at))
    pipeline.wait_caught_up(expected_raw=2)
    time.sleep(2)
    assert logged(pipeline) == 0  # 800 of 1000

    publish(pipeline, won(2, "north", "500", at))
    pipeline.wait_caught_up(expected_raw=4)
    deadline = time.monotonic() + 30
    while logged(pipeline) == 0 and time.monotonic() < deadline:
        time.sleep(0.3)
    assert logged(pipeline) == 1
    publish(pipeline, won(3, "north", "300", at))  # further above the target: nothing new
    pipeline.wait_caught_up(expected_raw=6)
    time.sleep(2)
    assert logged(pipeline) == 1
    worker.wait_for_log("Master KPI target reached: won_value team north 1300.00 of 1000.00")

    board = _cli(pipeline, "flow")
    assert board.returncode == 0, board.stderr
    assert "Master KPI reached by team north" in board.stdout
    assert "reward: Team dinner at the harbour" in board.stdout

    (north,) = [b for b in build_all(Options(), ["north"]) if b.title.endswith(": north")]
    (note,) = [q for q in north.queries if q.where == "annotation Master KPI reached"]
    ctx = QueryContext(
        time_from=now - timedelta(days=7),
        time_to=datetime.now(UTC) + timedelta(minutes=1),
        interval=timedelta(minutes=10),
        variables={"team": [variable_value("north")], "tz": "UTC"},
    )
    rows = pipeline.gateway().rows(
        expand(note.sql, ctx).replace("FROM achievements", "FROM {db}.achievements")
    )
    assert [r["text"] for r in rows] == [
        "Master KPI reached: won_value (team north) 1300 of 1000. "
        "Reward: Team dinner at the harbour"
    ]
