"""Fault tests: real worker and broker processes are killed, stopped and restarted.

The session broker `kafka_bootstrap` comes from tests/conftest.py (one broker for the whole run);
`PipelineEnv` and `WorkerProcess` from tests/support/pipeline.py. This `pipeline` fixture adds
small batches, so a few thousand events make many micro-batches.
"""

from __future__ import annotations

import pytest

from tests.support.pipeline_env import PipelineEnv

# Small batches so that a few thousand events make many micro-batches (crash windows by number).
FAULT_ENV = {"KPIFLOW_BATCH_SIZE": "200", "KPIFLOW_POISON_CAP": "10000"}


@pytest.fixture
def pipeline(kafka_bootstrap, tmp_path):
    p = PipelineEnv(kafka_bootstrap, tmp_path)
    p.env.update(FAULT_ENV)
    p.create_topics()
    yield p
    p.stop_all()
