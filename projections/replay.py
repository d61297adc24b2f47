"""Mid-quarter definition changes: register a new version, rebuild it, compare, promote.

The rebuild is the projector's bulk path over the raw event log (the worker does it while live
ingestion goes on; without a worker, `build_offline` does it in this process). Once built, the
new version is tailed like the live one, so events ingested during the replay are in it and
nothing is lost at the switch. `promote` (projections/versions.py) is one insert.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from kpiflow.projections.definition_file import load_definition_file
from kpiflow.projections.definitions import Definition

__all__ = ["load_definition_file"]

# Which KPIs a change of each definition field can move.
AFFECTED_BY = {
    "points": ("activity_points",),
    "qualification": ("qualified_leads",),
    "core_products": ("core_product_wins",),
}


def affected_kpis(old: Definition, new: Definition) -> tuple[str, ...]:
    """KPIs of both versions whose meaning the change can move: catalog KPIs hit by a changed
    field, custom KPIs over them, and custom KPIs whose own definition changed."""
    out: list[str] = []
    for field, kpis in AFFECTED_BY.items():
        a, b = getattr(old, field), getattr(new, field)
        if (sorted(a.items()) if isinstance(a, dict) else sorted(a)) != (
            sorted(b.items()) if isinstance(b, dict) else sorted(b)
        ):
            out.extend(kpis)
    moved = set(out)
    for name, custom in new.kpis.items():
        before = old.kpis.get(name)
        if before is None:
            continue
        if before.model_dump(exclude={"description"}) != custom.model_dump(
            exclude={"description"}
        ) or (custom.base in moved):
            out.append(name)
    return tuple(out)


def added_kpis(old: Definition, new: Definition) -> tuple[str, ...]:
    """Custom KPIs the new version has and the old one has not (shown with their totals)."""
    return tuple(name for name in new.kpis if name not in old.kpis)


@dataclass(frozen=True)
class DiffRow:
    kpi: str
    dimension_kind: str
    dimension: str
    old: float
    new: float

    @property
    def change(self) -> float:
        return self.new - self.old


def diff_values(
    old: dict[tuple[str, str, str], float], new: dict[tuple[str, str, str], float]
) -> list[DiffRow]:
    """Per (kpi, dimension_kind, dimension): old and new value, missing = 0. Pure."""
    keys = sorted(
        set(old) | set(new), key=lambda k: ({"all": 0, "team": 1, "rep": 2}.get(k[1], 3), k)
    )
    return [DiffRow(k[0], k[1], k[2], old.get(k, 0.0), new.get(k, 0.0)) for k in keys]


def quarter_values(
    store, version: int, kpis: tuple[str, ...], quarter_start: date
) -> dict[tuple[str, str, str], float]:
    rows = store.rows(
        "SELECT kpi, dimension_kind, dimension, value FROM {db}.kpi_values_all_versions "
        "WHERE definition_version = {v:UInt32} AND grain = 'quarter' AND period_start = {q:Date} "
        "AND kpi IN {kpis:Array(String)}",
        {"v": version, "q": quarter_start, "kpis": list(kpis)},
    )
    return {(r["kpi"], r["dimension_kind"], r["dimension"]): float(r["value"]) for r in rows}


def build_offline(
    store,
    definition: Definition,
    tz: ZoneInfo,
    on_progress: Callable[[int, int], None] | None = None,
) -> None:
    """Rebuild one version in this process (no worker holds the data)."""
    from kpiflow.projections.engine import KpiEngine
    from kpiflow.projections.projector import Projector, VersionState

    projector = Projector(store, tz)
    state = VersionState(definition, KpiEngine(definition, tz))
    projector.states = {definition.version: state}
    while not state.built:
        projector.step()
        if on_progress:
            on_progress(state.bulk_done, state.bulk_total)
