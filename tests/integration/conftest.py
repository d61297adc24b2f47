"""Integration tests use the fixtures of tests/conftest.py (`kafka_bootstrap`, `pipeline`)."""

from tests.support.pipeline_env import PipelineEnv, WorkerProcess, free_port, read_topic  # noqa: F401
