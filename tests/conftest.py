"""Shared fixtures.

chdb opens ONE data path per process, so the whole test process uses one embedded ClickHouse
path (created once per run) and every test gets its own database in it. Workers started by the
integration tests are separate processes with their own data paths.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path

import pytest

# KPIFLOW_TEST_CHDB_DSN given by the caller is used as it is. Otherwise each test process gets
# a path of its own: with `pytest -n 2` the xdist workers inherit the variable from the
# controller's import of this file, and two processes cannot open one path.
if os.environ.get("KPIFLOW_TEST_CHDB_DEFAULT") or not os.environ.get("KPIFLOW_TEST_CHDB_DSN"):
    _SESSION_CHDB = Path(tempfile.mkdtemp(prefix="kpiflow-test-chdb-"))
    os.environ["KPIFLOW_TEST_CHDB_DSN"] = f"chdb://{_SESSION_CHDB}"
    os.environ["KPIFLOW_TEST_CHDB_DEFAULT"] = "1"


@pytest.fixture(scope="session")
def chdb_dsn() -> str:
    return os.environ["KPIFLOW_TEST_CHDB_DSN"]


@pytest.fixture
def ch_store(chdb_dsn):
    """A migrated store on a fresh database of the session's embedded ClickHouse."""
    from kpiflow.projections.migrate import apply_migrations
    from kpiflow.projections.store import ClickHouseStore

    database = f"t_{uuid.uuid4().hex[:12]}"
    store = ClickHouseStore(chdb_dsn, database)
    apply_migrations(store)
    yield store
    store.command("DROP DATABASE IF EXISTS {db}")


@pytest.fixture(scope="session")
def kafka_bootstrap():
    """One single-node KRaft broker for the whole run, or KPIFLOW_TEST_BOOTSTRAP if given."""
    given = os.environ.get("KPIFLOW_TEST_BOOTSTRAP")
    if given:
        yield given
        return
    from kpiflow.runtime import kafka as runtime
    from tests.support.pipeline_env import free_port

    data_dir = Path(tempfile.mkdtemp(prefix="kpiflow-test-kafka-"))
    port = free_port()
    runtime.ensure_installed()
    runtime.start(data_dir, port=port, controller_port=free_port())
    try:
        yield f"127.0.0.1:{port}"
    finally:
        runtime.stop(data_dir)


@pytest.fixture
def pipeline(kafka_bootstrap, tmp_path):
    """Topics, consumer group, data dir and ports of one test; its workers stop at the end."""
    from tests.support.pipeline_env import PipelineEnv

    p = PipelineEnv(kafka_bootstrap, tmp_path)
    p.create_topics()
    yield p
    p.stop_all()
