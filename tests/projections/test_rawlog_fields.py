"""The raw log's one field declaration agrees with its migration and with the engine's record."""

from __future__ import annotations

import re
from dataclasses import fields
from importlib import resources

from kpiflow.projections import rawlog
from kpiflow.projections.records import EventRecord


def _migration_columns() -> list[str]:
    sql = resources.files("kpiflow.projections.migrations").joinpath("0001_raw_log.sql").read_text()
    body = sql[sql.index("CREATE TABLE IF NOT EXISTS {db}.raw_event_log") :]
    body = body[body.index("(") + 1 : body.index("\n)")]
    return [m.group(1) for m in re.finditer(r"^\s*(\w+)\s+\S", body, re.M)]


def test_columns_are_the_migrations_columns_in_order():
    assert [*rawlog.RAW_COLUMNS, "ingested_at"] == _migration_columns()


def test_every_record_attribute_is_read_once():
    assert rawlog.RECORD_COLUMNS == tuple(f.name for f in fields(EventRecord))


def test_select_aliases_are_unique_and_shadow_no_column():
    aliases = [f.read_as for f in rawlog.RECORD_FIELDS]
    assert len(set(aliases)) == len(aliases)
    for f in rawlog.RECORD_FIELDS:
        assert f" AS {f.read_as}" in rawlog.SELECT_RECORDS
        if f.select:
            assert f.read_as not in rawlog.RAW_COLUMNS


def test_the_lean_read_differs_only_in_what_custom_kpis_use():
    full = rawlog.SELECT_RECORDS.removeprefix("SELECT ").split(", ")
    lean = rawlog.select_records(attributes=False).removeprefix("SELECT ").split(", ")
    assert len(full) == len(lean)
    changed = {(a, b) for a, b in zip(full, lean, strict=True) if a != b}
    assert changed == {
        ("source AS source", "'' AS source"),
        ("channel AS channel", "'' AS channel"),
    }
