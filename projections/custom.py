"""Custom KPIs of a definition version: a catalog KPI (the base) restricted by a filter (kpis.md).

Pure data and rules: the model a definition file's `kpis:` section validates into, the fields a
filter may use per base family, and the matching of one condition. The engine's side is
`projections/engine/custom.py`.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from kpiflow.events.activities import ACTIVITY_TYPES
from kpiflow.projections.catalog import CATALOG, STAY_STAGES, KpiSpec

NAME = re.compile(r"^[a-z][a-z0-9_]{0,47}$")
DIRECTIONS = ("outbound", "inbound")
DEAL_KINDS = ("new_business", "upsell", "renewal")

ACTIVITY_BASES = ("activities", "outbound_contacts", "activity_points")
LEAD_BASES = ("leads_created", "qualified_leads")
DEAL_BASES = (
    "deals_opened",
    "won_deals",
    "won_value",
    "new_business_value",
    "upsells",
    "renewals",
    "core_product_wins",
    "pipeline_value",
    "close_rate",
    "deal_velocity_days",
    *(f"stage_days:{stage}" for stage in STAY_STAGES),
)
NOT_A_BASE = ("retention_rate", "new_business_growth_mom", "new_business_growth_yoy")

ACTIVITY_FIELDS = (
    "activity_type",
    "direction",
    "source",
    "lead.channel",
    "deal.kind",
    "deal.product",
    "deal.source",
)
LEAD_FIELDS = ("lead.channel",)
DEAL_FIELDS = ("deal.kind", "deal.product", "deal.source", "lead.channel")
CLOSED_SETS: dict[str, tuple[str, ...]] = {
    "activity_type": ACTIVITY_TYPES,
    "direction": DIRECTIONS,
    "deal.kind": DEAL_KINDS,
}

Family = Literal["activity", "lead", "deal"]


def family_of(base: str) -> Family:
    if base in ACTIVITY_BASES:
        return "activity"
    if base in LEAD_BASES:
        return "lead"
    return "deal"


def fields_of(family: Family) -> tuple[str, ...]:
    return {"activity": ACTIVITY_FIELDS, "lead": LEAD_FIELDS, "deal": DEAL_FIELDS}[family]


class Condition(BaseModel):
    """One condition of a `where`: equal / one of (`values`), none of, or starts with one of."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    op: Literal["in", "not", "prefix"]
    values: tuple[str, ...]

    def matches(self, value: str | None) -> bool:
        """An absent attribute (None) matches no condition, not even `not`."""
        if value is None:
            return False
        if self.op == "in":
            return value in self.values
        if self.op == "not":
            return value not in self.values
        return value.startswith(self.values)


def _strings(value: Any, what: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list | tuple) and value and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ValueError(f"{what} must be a string or a non-empty list of strings, got {value!r}")


def parse_condition(value: Any) -> Condition:
    """The file's forms: "x" (equal), [x, y] (one of), {not: ...} (none of), {prefix: ...}."""
    if isinstance(value, Condition):
        return value
    if isinstance(value, dict):
        if set(value) == {"op", "values"}:  # already in stored form (a definition's JSON)
            return Condition(op=value["op"], values=_strings(value["values"], "values"))
        if len(value) != 1 or next(iter(value)) not in ("not", "prefix"):
            raise ValueError(
                "a condition is a string, a list of strings, {not: ...} or {prefix: ...}; got "
                f"{value!r}"
            )
        ((op, inner),) = value.items()
        return Condition(op=op, values=_strings(inner, op))
    return Condition(op="in", values=_strings(value, "a condition"))


class CustomKpi(BaseModel):
    """One custom KPI: `base` restricted by `where` (every condition must hold)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["action", "result", "insight"] | None = None
    description: str = Field(min_length=1)
    base: str
    where: dict[str, Condition] = Field(default_factory=dict)

    @field_validator("description")
    @classmethod
    def _described(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("description is required: everyone must see how the KPI is reached")
        return value

    @field_validator("base")
    @classmethod
    def _known_base(cls, value: str) -> str:
        if value in NOT_A_BASE or value == "new_business_growth_yoy_change":
            raise ValueError(f"{value} cannot be a base (retention and growth KPIs are not)")
        if value not in CATALOG:
            bases = ", ".join((*ACTIVITY_BASES, *LEAD_BASES, *DEAL_BASES))
            raise ValueError(f"unknown base {value!r}; a base is one of: {bases}")
        return value

    @field_validator("where", mode="before")
    @classmethod
    def _conditions(cls, value: Any) -> dict[str, Condition]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise ValueError(f"where must be a mapping of field -> condition, got {value!r}")
        out = {}
        for field_name, condition in value.items():
            try:
                out[str(field_name)] = parse_condition(condition)
            except ValueError as exc:
                raise ValueError(f"where.{field_name}: {exc}") from None
        return out

    @model_validator(mode="after")
    def _consistent(self) -> CustomKpi:
        base = CATALOG[self.base]
        insight = base.kind == "insight"
        if insight and self.kind not in (None, "insight"):
            raise ValueError(
                f"kind: a KPI over {self.base} (a ratio or median) is insight, not {self.kind}"
            )
        if not insight and self.kind not in ("action", "result"):
            raise ValueError(
                f"kind: required for a KPI over {self.base}: action or result"
                + ("" if self.kind is None else f", not {self.kind}")
            )
        family = family_of(self.base)
        allowed = fields_of(family)
        for field_name, condition in self.where.items():
            if field_name not in allowed:
                raise ValueError(
                    f"where.{field_name}: not a field of the {family} base {self.base}; it may "
                    f"use {', '.join(allowed)}"
                )
            closed = CLOSED_SETS.get(field_name)
            unknown = [v for v in condition.values if closed is not None and v not in closed]
            if unknown:
                raise ValueError(
                    f"where.{field_name}: {', '.join(map(repr, unknown))} is not one of "
                    f"{', '.join(closed or ())}"
                )
        return self

    @property
    def effective_kind(self) -> str:
        return self.kind or "insight"

    def spec(self, name: str) -> KpiSpec:
        """The KPI as the catalog would list it: the base's value type, grains, point in time."""
        base = CATALOG[self.base]
        return KpiSpec(
            name,
            self.effective_kind,  # type: ignore[arg-type]
            base.value_type,
            base.grains,
            self.description,
            point_in_time=base.point_in_time,
        )


def check_name(name: str) -> None:
    if not NAME.match(name):
        raise ValueError(
            f"{name!r} is not a valid KPI name: lower case letters, digits and _, starting with a "
            "letter, at most 48 characters"
        )
    if name in CATALOG or name == "stage_days" or name.startswith("stage_days:"):
        raise ValueError(f"{name!r} is a catalog KPI's name; pick another")
