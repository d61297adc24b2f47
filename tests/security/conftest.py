"""Security tests. Most need nothing running; `test_gateway.py` starts a real worker and reuses
the integration suite's fixtures (`kafka_bootstrap`, `pipeline`)."""

from tests.integration.conftest import kafka_bootstrap, pipeline  # noqa: F401 - fixture re-export
