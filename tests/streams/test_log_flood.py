"""The Kafka client's error flood while the broker is away becomes a few lines."""

from __future__ import annotations

import logging

from kpiflow.streams.log_flood import KafkaFloodFilter


def record(level: int, msg: str) -> logging.LogRecord:
    return logging.LogRecord("aiokafka", level, __file__, 1, msg, (), None)


def test_a_burst_is_one_line_then_a_summary_every_period_then_one_line_on_recovery():
    now = [0.0]
    flood = KafkaFloodFilter(every=30, clock=lambda: now[0])
    shown = []
    for second in range(0, 120):  # 10 errors a second for two minutes
        now[0] = float(second)
        for _ in range(10):
            r = record(logging.ERROR, "Unable connect to node with id 1")
            if flood.filter(r):
                shown.append(r.getMessage())
    assert len(shown) == 4  # at 0 s, then at 30, 60 and 90 s
    assert shown[0] == "Unable connect to node with id 1"
    assert "still failing for 30s; 299 similar lines held back" in shown[1]
    now[0] = 125.0
    back = record(logging.INFO, "Discovered coordinator 1")
    assert flood.filter(back)
    assert "Kafka client recovered after 125s" in back.getMessage()
    assert back.levelname == "WARNING"
    quiet = record(logging.INFO, "Joined group")
    assert flood.filter(quiet) and quiet.getMessage() == "Joined group"


def test_installed_on_the_module_loggers_of_the_kafka_client():
    import aiokafka.conn  # noqa: F401 - the module logger exists once imported

    from kpiflow.streams.log_flood import install

    flood = install(every=30)
    try:
        child = logging.getLogger("aiokafka.conn")
        assert flood in child.filters
        first = child.makeRecord("aiokafka.conn", logging.ERROR, __file__, 1, "refused", (), None)
        second = child.makeRecord("aiokafka.conn", logging.ERROR, __file__, 1, "refused", (), None)
        assert child.filter(first) and not child.filter(second)
    finally:
        for name in list(logging.Logger.manager.loggerDict):
            logger = logging.getLogger(name)
            if flood in logger.filters:
                logger.removeFilter(flood)
