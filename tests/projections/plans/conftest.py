"""Fixtures for the plan tests.

chdb opens ONE data path per process: the plan tests use the suite's (`chdb_dsn`,
tests/conftest.py), each test a database of its own in it.
"""

from __future__ import annotations

import textwrap
import uuid
from pathlib import Path

import pytest


@pytest.fixture
def plan_store(chdb_dsn):
    """A migrated store on a fresh database of the session's embedded ClickHouse."""
    from kpiflow.projections.migrate import apply_migrations
    from kpiflow.projections.store import ClickHouseStore

    store = ClickHouseStore(chdb_dsn, f"plans_{uuid.uuid4().hex[:12]}")
    apply_migrations(store)
    yield store
    store.command("DROP DATABASE IF EXISTS {db}")
    store.close()


@pytest.fixture
def write_plan(tmp_path: Path):
    """Write a plan file from an indented YAML string; returns its path."""

    def write(text: str, name: str = "plan.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return write


GOOD_PLAN = """
quarter: 2026-Q4
focus:
  - kpi: new_business_value
    master: true
    targets:
      all: 900000
      team: 450000
      rep: 90000
      reps:
        rep-ada: 120000
  - kpi: activity_points
    targets:
      team: 6000
      rep: 1200
  - kpi: close_rate
    targets:
      team: 0.3
review:
  rhythm: weekly
  day: fri
reward: Team dinner
working_days:
  holidays: [2026-12-24, 2026-12-25, 2026-12-31]
changes:
  - date: 2026-11-02
    reason: more pipeline
    remove_focus: [close_rate]
    add_focus:
      - kpi: qualified_leads
        targets: {team: 40, rep: 8}
    targets:
      activity_points:
        rep: 1400
        reps: {rep-ben: 1000}
  - date: 2026-12-01
    reason: leads are the bottleneck
    master: qualified_leads
    definition_version: 2
"""


@pytest.fixture
def good_plan_text() -> str:
    return textwrap.dedent(GOOD_PLAN).lstrip("\n")
