"""Fixtures for the dashboard tests.

chdb opens ONE data path per process. The session's path is `chdb_dsn` from tests/conftest.py
(session-scoped, made once per run, shared with the rest of the suite); these fixtures add a
unique database per test on it. Panel SQL uses unqualified table names (the Grafana data
source's default database), so each test also gets a client whose default database is its own.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest


@dataclass
class PanelDb:
    """A populated database and a way to run SQL in it as Grafana's data source would."""

    store: Any
    client: Any
    facts: dict[str, Any]

    def run(self, sql: str) -> tuple[list[str], list[tuple]]:
        result = self.client.query(sql)
        return list(result.column_names), list(result.result_rows)


@pytest.fixture
def panel_db(chdb_dsn):
    import clickhouse_connect

    from kpiflow.projections.migrate import apply_migrations
    from kpiflow.projections.store import ClickHouseStore
    from tests.dashboards.dataset import populate

    database = f"dash_{uuid.uuid4().hex[:12]}"
    store = ClickHouseStore(chdb_dsn, database)
    apply_migrations(store)
    facts = populate(store)
    client = clickhouse_connect.get_client(dsn=chdb_dsn, database=database)
    yield PanelDb(store, client, facts)
    client.close()
    store.command("DROP DATABASE IF EXISTS {db}")
    store.close()
