"""Definition versions in ClickHouse: register, list, mark ready, promote atomically."""

from __future__ import annotations

import json
import time
from typing import Any

from kpiflow.errors import ConfigError
from kpiflow.projections.catalog import KpiSpec
from kpiflow.projections.definitions import DEFAULT_DEFINITION, Definition

STATUSES = ("building", "ready", "live", "retired")


def _rev() -> int:
    return time.time_ns() // 1000


def list_versions(store) -> list[dict[str, Any]]:
    return store.rows(
        "SELECT version, fingerprint, effective_from, description, status, body, changed_at "
        "FROM {db}.kpi_definitions FINAL ORDER BY version"
    )


def load_definition(row: dict[str, Any]) -> Definition:
    return Definition.model_validate(json.loads(row["body"]))


def live_version(store) -> int | None:
    rows = store.rows(
        "SELECT argMax(version, revision) AS v, count() AS n FROM {db}.live_version WHERE name = "
        "'live'"
    )
    return rows[0]["v"] if rows and rows[0]["n"] else None


def set_status(store, definition: Definition, status: str) -> None:
    assert status in STATUSES
    store.insert(
        "kpi_definitions",
        [
            [
                definition.version,
                definition.fingerprint(),
                definition.effective_from,
                definition.description,
                definition.model_dump_json(),
                status,
                _rev(),
            ]
        ],
        ["version", "fingerprint", "effective_from", "description", "body", "status", "revision"],
    )


def ensure_default(store, default: Definition = DEFAULT_DEFINITION) -> Definition:
    """Version 1 (the catalog defaults, with the worker's exchange rates) exists; returns the
    definition readers see."""
    versions = list_versions(store)
    if not versions:
        set_status(store, default, "building")
        return default
    live = live_version(store)
    for row in versions:
        if row["version"] == live:
            return load_definition(row)
    return load_definition(versions[0])


def register(store, definition: Definition) -> Definition:
    """Add a new version (number = highest + 1) in status `building`."""
    versions = list_versions(store)
    for row in versions:
        if row["fingerprint"] == definition.fingerprint() and row["status"] != "retired":
            raise ConfigError(
                f"definition version {row['version']} already means exactly this "
                f"(status {row['status']}); nothing to replay"
            )
    number = max((r["version"] for r in versions), default=0) + 1
    new = definition.model_copy(update={"version": number})
    set_status(store, new, "building")
    return new


def custom_specs(store) -> dict[str, KpiSpec]:
    """The custom KPIs of every kept (not retired) version, the live version's meaning first."""
    rows = [r for r in list_versions(store) if r["status"] != "retired"]
    live = live_version(store)
    rows.sort(key=lambda r: (r["version"] != live, -r["version"]))
    out: dict[str, KpiSpec] = {}
    for row in rows:
        for name, custom in load_definition(row).kpis.items():
            out.setdefault(name, custom.spec(name))
    return out


ACTIVE_STATUSES = ("building", "ready", "live")  # what the projector keeps up to date


def active_rows(store, default: Definition = DEFAULT_DEFINITION) -> dict[int, dict[str, Any]]:
    """The rows of the active versions by number, version 1 registered first if there is
    none (`ensure_default`); one read when versions exist. Rows, not definitions: a caller
    that knows a version already need not parse its body again."""
    rows = list_versions(store)
    if not rows:
        ensure_default(store, default)
        rows = list_versions(store)
    return {r["version"]: r for r in rows if r["status"] in ACTIVE_STATUSES}


def promote(store, version: int, note: str = "") -> int | None:
    """Switch readers to `version` in one insert; returns the version it replaced."""
    rows = {r["version"]: r for r in list_versions(store)}
    if version not in rows:
        raise ConfigError(f"no definition version {version}; see `kpiflow definitions`")
    if rows[version]["status"] not in ("ready", "live"):
        raise ConfigError(
            f"version {version} is {rows[version]['status']}: wait until its rebuild is ready "
            "(`kpiflow definitions` shows the status)"
        )
    previous = live_version(store)
    store.insert("live_version", [["live", version, _rev()]], ["name", "version", "revision"])
    store.command(
        "INSERT INTO {db}.promotions (promoted_at, from_version, to_version, note) "
        "VALUES (now64(3), {f:UInt32}, {t:UInt32}, {n:String})",
        {"f": previous or 0, "t": version, "n": note},
    )
    set_status(store, load_definition(rows[version]), "live")
    if previous and previous != version:
        set_status(store, load_definition(rows[previous]), "ready")
    return previous
