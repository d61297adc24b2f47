"""Integration tests use the fixtures of tests/conftest.py (`kafka_bootstrap`, `pipeline`)."""

from tests.support.pipeline import Pipeline, WorkerProcess, free_port, read_topic  # noqa: F401
