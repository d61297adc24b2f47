"""Fault tests: real worker and broker processes are killed, stopped and restarted.

Shared pieces come from the integration suite (`tests/integration/conftest.py`): the session
broker fixture `kafka_bootstrap` (or KPIFLOW_TEST_BOOTSTRAP), `Pipeline` (own topics, group, data
dir and ports per test) and `WorkerProcess`. Re-exporting a fixture from another conftest makes
it this directory's own: when both suites run in one session without KPIFLOW_TEST_BOOTSTRAP,
each starts its own broker (about ten seconds more, nothing shared by accident).
"""

from __future__ import annotations

import pytest

from tests.integration.conftest import Pipeline, kafka_bootstrap  # noqa: F401 - fixture re-export

# Small batches so that a few thousand events make many micro-batches (crash windows by number).
FAULT_ENV = {"KPIFLOW_BATCH_SIZE": "200", "KPIFLOW_POISON_CAP": "10000"}


@pytest.fixture
def pipeline(kafka_bootstrap, tmp_path):  # noqa: F811 - the fixture above, used here
    p = Pipeline(kafka_bootstrap, tmp_path)
    p.env.update(FAULT_ENV)
    p.create_topics()
    yield p
    p.stop_all()
