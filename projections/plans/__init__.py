"""KPI Flow quarterly plans: the plan file, its rules, pacing against it, suggested targets.

- `model`: the plan file as frozen pydantic models; `Plan.at(day)` is the plan in effect.
- `rules`: the KPI Flow rules (1-3 focus KPIs, one Master KPI, no per-rep insight targets, ...).
- `loading`: YAML -> Plan, or one PlanError naming file, line and field of every problem.
- `calendar`: quarters, working days, review dates.
- `pacing`: target / actual / expected / pace / projected per focus KPI and dimension (pure).
- `suggest`: targets from the weekly history (pure).
- `storage`: plan_targets / plan_changes in ClickHouse, and reading actuals and history back.
"""

from kpiflow.projections.plans.calendar import Quarter
from kpiflow.projections.plans.loading import load_plan, parse_plan, parse_plan_text
from kpiflow.projections.plans.model import EffectivePlan, FocusKpi, Plan, Targets
from kpiflow.projections.plans.pacing import PacingRow, Roster, pace_one, pace_plan
from kpiflow.projections.plans.problems import PlanError, Problem

__all__ = [
    "EffectivePlan",
    "FocusKpi",
    "PacingRow",
    "Plan",
    "PlanError",
    "Problem",
    "Quarter",
    "Roster",
    "Targets",
    "load_plan",
    "pace_one",
    "pace_plan",
    "parse_plan",
    "parse_plan_text",
]
