"""The writes a CLI command makes, by name, with JSON arguments and results.

On a direct store (no worker, or a ClickHouse server) `run` calls the operation in-process. When
the worker owns the embedded engine, the command's store is the worker's gateway, and `run` asks
the worker to perform the named operation (`POST /kpiflow/op`): the gateway runs read-only SQL
and these typed operations, never SQL that writes. An operation's arguments are checked here,
whichever path it takes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from kpiflow.errors import ConfigError
from kpiflow.projections import versions
from kpiflow.projections.catalog import custom_kpis
from kpiflow.projections.definitions import Definition
from kpiflow.projections.plans.model import Plan
from kpiflow.projections.plans.storage import apply_plan


def _int(args: dict[str, Any], name: str) -> int:
    value = args.get(name)
    if type(value) is not int or value < 1:
        raise ConfigError(f"{name} must be a positive integer, got {value!r}")
    return value


def _str(args: dict[str, Any], name: str) -> str:
    value = args.get(name, "")
    if not isinstance(value, str):
        raise ConfigError(f"{name} must be a string, got {type(value).__name__}")
    return value


def register_definition(store, args: dict[str, Any]) -> dict[str, Any]:
    """A new definition version in status building; returns it (with its number)."""
    definition = Definition.model_validate_json(_str(args, "definition"))
    return {"definition": versions.register(store, definition).model_dump_json()}


def promote(store, args: dict[str, Any]) -> dict[str, Any]:
    """Switch readers to a built version; returns the version it replaced."""
    return {"previous": versions.promote(store, _int(args, "version"), _str(args, "note"))}


def retire(store, args: dict[str, Any]) -> dict[str, Any]:
    """Retire a version that is not live and delete its projection rows."""
    version = _int(args, "version")
    if version == versions.live_version(store):
        raise ConfigError(f"version {version} is live; promote another version first")
    rows = {r["version"]: r for r in versions.list_versions(store)}
    if version not in rows:
        raise ConfigError(f"no definition version {version}")
    versions.set_status(store, versions.load_definition(rows[version]), "retired")
    store.command(
        "ALTER TABLE {db}.kpi_rows DELETE WHERE definition_version = {v:UInt32}", {"v": version}
    )
    store.command(
        "ALTER TABLE {db}.coaching_deals DELETE WHERE definition_version = {v:UInt32}",
        {"v": version},
    )
    return {"retired": version}


def store_plan(store, args: dict[str, Any]) -> dict[str, Any]:
    """Store a plan as a new revision of its quarter (nothing when unchanged)."""
    with custom_kpis(versions.custom_specs(store)):  # a focus KPI may be a custom one
        plan = Plan.model_validate_json(_str(args, "plan"))
        return asdict(apply_plan(store, plan))


OPERATIONS: dict[str, Callable[[Any, dict[str, Any]], dict[str, Any]]] = {
    "register_definition": register_definition,
    "promote": promote,
    "retire": retire,
    "store_plan": store_plan,
}


def perform(store, name: str, args: dict[str, Any]) -> dict[str, Any]:
    """Run operation `name` on a store that can write (in-process, or in the worker)."""
    operation = OPERATIONS.get(name)
    if operation is None:
        raise ConfigError(f"no operation {name!r}; known: {', '.join(sorted(OPERATIONS))}")
    return operation(store, args)


def run(store, name: str, **args: Any) -> dict[str, Any]:
    """Run operation `name` where the store's writer is: here, or in the worker."""
    remote = getattr(store, "operation", None)
    if remote is not None:
        return remote(name, args)
    return perform(store, name, args)
