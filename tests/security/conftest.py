"""Security tests. Most need nothing running; `test_gateway.py` starts a real worker with the
fixtures of tests/conftest.py (`kafka_bootstrap`, `pipeline`)."""
