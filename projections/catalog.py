"""The KPI catalog (docs/kpis.md): names, kinds, grains, dimensions, value types.

This is the single list every other module checks names against (report arguments, plan files,
dashboards, SQL identifiers).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from kpiflow.events.deals import is_terminal
from kpiflow.events.fields import STAGES

Kind = Literal["action", "result", "insight"]
ValueType = Literal["count", "amount", "ratio", "days"]

GRAINS: tuple[str, ...] = ("day", "week", "month", "quarter")
DIMENSIONS: tuple[str, ...] = ("all", "team", "rep")
STAY_STAGES: tuple[str, ...] = tuple(s for s in STAGES if not is_terminal(s))


@dataclass(frozen=True)
class KpiSpec:
    name: str
    kind: Kind
    value_type: ValueType
    grains: tuple[str, ...] = GRAINS
    description: str = ""
    # The value at the period's end (pipeline_value), not a sum over its days: a quarter to
    # date is its last day's value. (Ratios and medians are neither: computed over the period.)
    point_in_time: bool = False

    @property
    def dimensions(self) -> tuple[str, ...]:
        return ("all", "team") if self.kind == "insight" else DIMENSIONS

    @property
    def additive(self) -> bool:
        """The period's value is the sum of its days' values."""
        return self.value_type in ("count", "amount") and not self.point_in_time


def _catalog() -> dict[str, KpiSpec]:
    specs = [
        KpiSpec("activities", "action", "count", description="activity.logged events"),
        KpiSpec(
            "outbound_contacts",
            "action",
            "count",
            description="outbound call/voicemail/email/linkedin_message",
        ),
        KpiSpec("activity_points", "action", "count", description="points per activity type"),
        KpiSpec(
            "leads_created", "result", "count", description="leads first created in the period"
        ),
        KpiSpec(
            "qualified_leads", "result", "count", description="leads first qualified in the period"
        ),
        KpiSpec("deals_opened", "result", "count", description="deals first opened in the period"),
        KpiSpec("won_deals", "result", "count", description="deals won in the period"),
        KpiSpec("won_value", "result", "amount", description="amount at the moment of winning"),
        KpiSpec(
            "new_business_value", "result", "amount", description="won_value of new_business deals"
        ),
        KpiSpec("upsells", "result", "count", description="won upsell deals"),
        KpiSpec("renewals", "result", "count", description="won renewal deals"),
        KpiSpec("core_product_wins", "result", "count", description="won deals of a core product"),
        KpiSpec(
            "pipeline_value",
            "result",
            "amount",
            description="open deal value at the period's end",
            point_in_time=True,
        ),
        KpiSpec("deal_velocity_days", "insight", "days", description="median days opened -> won"),
        *[
            KpiSpec(f"stage_days:{stage}", "insight", "days", description=f"median days in {stage}")
            for stage in STAY_STAGES
        ],
        KpiSpec("close_rate", "insight", "ratio", description="won / (won + lost)"),
        KpiSpec(
            "new_business_growth_mom", "insight", "ratio", ("month",), "month-over-month growth"
        ),
        KpiSpec("new_business_growth_yoy", "insight", "ratio", ("month",), "year-over-year growth"),
        KpiSpec(
            "new_business_growth_yoy_change", "insight", "ratio", ("month",), "growth of the growth"
        ),
        KpiSpec(
            "retention_rate", "insight", "ratio", ("quarter",), "share of active customers kept"
        ),
    ]
    return {spec.name: spec for spec in specs}


CATALOG: dict[str, KpiSpec] = _catalog()


# The custom KPIs (of the stored definition versions) a command works with, besides the
# catalog: set for the duration of a command by `custom_kpis(...)` (its caller read them from
# the store), so plans, pacing, reports and boards treat them like catalog KPIs.
_CUSTOM: ContextVar[Mapping[str, KpiSpec]] = ContextVar(
    "kpiflow_custom_kpis", default=MappingProxyType({})
)


@contextmanager
def custom_kpis(specs: Mapping[str, KpiSpec]) -> Iterator[None]:
    token = _CUSTOM.set(dict(specs))
    try:
        yield
    finally:
        _CUSTOM.reset(token)


def known() -> dict[str, KpiSpec]:
    """The catalog, then the custom KPIs in effect."""
    return {**CATALOG, **_CUSTOM.get()}


def find(name: str) -> KpiSpec | None:
    return CATALOG.get(name) or _CUSTOM.get().get(name)


def spec_of(name: str) -> KpiSpec:
    """A known KPI's spec (KeyError for an unknown name: callers check names first)."""
    found = find(name)
    if found is None:
        raise KeyError(name)
    return found


def kpi(name: str) -> KpiSpec:
    """Look a KPI up by name, or raise a ConfigError listing the known names."""
    from kpiflow.errors import ConfigError

    found = find(name)
    if found is None:
        raise ConfigError(f"unknown KPI {name!r}; known: {', '.join(known())}") from None
    return found
