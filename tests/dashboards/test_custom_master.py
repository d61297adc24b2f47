"""A custom Master KPI on the wallboard: its name and how it is reached (its description)."""

from __future__ import annotations

import textwrap

from kpiflow.dashboards.macros import QueryContext, expand
from kpiflow.dashboards.panels.pacing import MASTER_KPI
from kpiflow.projections import versions
from kpiflow.projections.catalog import custom_kpis
from kpiflow.projections.definitions import Definition
from kpiflow.projections.plans import parse_plan_text
from kpiflow.projections.plans.storage import apply_plan
from tests.dashboards.dataset import quarter_of

EXPO = {
    "kind": "result",
    "description": "Meetings and intakes with leads from the December expo",
    "base": "activities",
    "where": {"activity_type": ["meeting", "intake"], "lead.channel": "trade-show:expo-dec"},
}


def test_the_wallboard_names_a_custom_master_kpi_with_its_description(panel_db):
    store, today = panel_db.store, panel_db.facts["today"]
    defn = versions.register(store, Definition(description="expo", kpis={"expo": EXPO}))
    versions.set_status(store, defn, "ready")
    versions.promote(store, defn.version, "expo focus")
    quarter, _ = quarter_of(today)
    plan = textwrap.dedent(f"""
        quarter: {quarter}
        focus:
          - kpi: expo
            master: true
            targets:
              all: 10
        review:
          rhythm: weekly
          day: fri
        reward: Dinner
    """)
    with custom_kpis(versions.custom_specs(store)):
        apply_plan(store, parse_plan_text(plan))
    rows = panel_db.store.rows(
        "SELECT definition_version, kpi, kind, base, description FROM {db}.custom_kpis"
    )
    assert rows == [
        {
            "definition_version": defn.version,
            "kpi": "expo",
            "kind": "result",
            "base": "activities",
            "description": EXPO["description"],
        }
    ]
    now = panel_db.facts["now"]
    ctx = QueryContext(now, now, variables={"team": [], "tz": "UTC"})
    _, result = panel_db.run(expand(MASTER_KPI.clean, ctx))
    assert result == [(f"expo (organisation): {EXPO['description']}",)]
