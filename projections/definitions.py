"""What a KPI means, versioned: activity points, the qualification rule, the core products, and
the team's own (custom) KPIs.

Version 1 is the catalog's defaults. A new version is created when the team changes a definition
mid-quarter; the projections of each version are kept apart (`definition_version` column) and
one version is live at a time.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from kpiflow.events.activities import ACTIVITY_TYPES
from kpiflow.events.rates import ExchangeRates
from kpiflow.projections.catalog import CATALOG, KpiSpec
from kpiflow.projections.custom import CustomKpi, check_name

DEFAULT_POINTS: dict[str, int] = {
    "call": 3,
    "voicemail": 1,
    "email": 1,
    "linkedin_message": 1,
    "meeting": 8,
    "intake": 10,
    "demo": 8,
}


class Definition(BaseModel):
    """One version of the KPI definitions."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int = Field(1, ge=1)
    effective_from: date | None = None
    description: str = "catalog defaults"
    points: dict[str, int] = Field(default_factory=lambda: dict(DEFAULT_POINTS))
    qualification: tuple[str, ...] = ("budget", "authority", "need")
    core_products: tuple[str, ...] = ("enterprise",)
    kpis: dict[str, CustomKpi] = Field(default_factory=dict)
    # the exchange-rate table this version converts amounts with (ExchangeRates.as_json), taken
    # from KPIFLOW_EXCHANGE_RATES_FILE when the version is registered; None: amounts as they are
    exchange_rates: dict[str, Any] | None = None

    def rates(self) -> ExchangeRates | None:
        return ExchangeRates.from_json(self.exchange_rates) if self.exchange_rates else None

    @field_validator("kpis")
    @classmethod
    def _names(cls, value: dict[str, CustomKpi]) -> dict[str, CustomKpi]:
        for name in value:
            check_name(name)
        return value

    def spec(self, name: str) -> KpiSpec | None:
        """A catalog KPI, or a custom KPI of this version, as a spec; None when unknown."""
        custom = self.kpis.get(name)
        return custom.spec(name) if custom is not None else CATALOG.get(name)

    def kpi_names(self) -> tuple[str, ...]:
        """The catalog's KPIs, then this version's custom KPIs."""
        return (*CATALOG, *self.kpis)

    @field_validator("points", mode="before")
    @classmethod
    def _whole_numbers(cls, value: Any) -> Any:
        if isinstance(value, dict):
            for activity_type, points in value.items():
                if type(points) is not int or points < 0:
                    raise ValueError(
                        f"points of {activity_type} must be a whole number >= 0, got {points!r}"
                    )
        return value

    @field_validator("points")
    @classmethod
    def _every_activity_type(cls, value: dict[str, int]) -> dict[str, int]:
        unknown = set(value) - set(ACTIVITY_TYPES)
        if unknown:
            raise ValueError(
                f"unknown activity types {sorted(unknown)}; known: {', '.join(ACTIVITY_TYPES)}"
            )
        return {**DEFAULT_POINTS, **value}

    @field_validator("qualification")
    @classmethod
    def _non_empty(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("the qualification rule needs at least one criterion")
        return value

    def fingerprint(self) -> str:
        """Hash of what changes numbers (not the version number or description)."""
        numbers: dict = {
            "points": self.points,
            "qualification": sorted(self.qualification),
            "core": sorted(self.core_products),
        }
        if self.exchange_rates and self.exchange_rates.get("rates"):
            # absent without rates: the fingerprints of earlier versions are unchanged
            numbers["exchange_rates"] = self.exchange_rates
        if self.kpis:  # absent for a version without custom KPIs: its fingerprint is unchanged
            numbers["kpis"] = {
                name: custom.model_dump(mode="json", exclude={"description"})
                for name, custom in self.kpis.items()
            }
        body = json.dumps(numbers, sort_keys=True)
        return hashlib.sha256(body.encode()).hexdigest()[:16]


DEFAULT_DEFINITION = Definition()
