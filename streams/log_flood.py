"""Kafka client logs while the broker is away: one line when it goes, a summary now and then.

aiokafka logs every failed connection attempt and every failed request, several times a second
per partition, for as long as the broker is away (13,900 ERROR lines in 4 minutes were seen).
This filter lets the first such line of a burst through, then at most one line per `every`
seconds saying how many were held back, and one line when a non-error record (the client
working again) follows a burst, with the outage's duration.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

FLOODING = ("aiokafka", "faust.transport", "kafka")


class KafkaFloodFilter(logging.Filter):
    def __init__(self, every: float = 30.0, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.every = every
        self.clock = clock
        self._since: float | None = None  # start of the current burst of errors
        self._last_shown = 0.0
        self._held = 0

    def filter(self, record: logging.LogRecord) -> bool:
        now = self.clock()
        if record.levelno < logging.WARNING:
            if self._since is not None:  # the client works again
                record.msg = (
                    f"Kafka client recovered after {now - self._since:.0f}s "
                    f"({self._held} error lines held back); {record.getMessage()}"
                )
                record.args = ()
                record.levelno, record.levelname = logging.WARNING, "WARNING"
                self._since, self._held = None, 0
            return True
        if self._since is None:
            self._since, self._last_shown = now, now
            return True
        if now - self._last_shown >= self.every:
            record.msg = (
                f"{record.getMessage()} (still failing for {now - self._since:.0f}s; "
                f"{self._held} similar lines held back)"
            )
            record.args = ()
            self._last_shown, self._held = now, 0
            return True
        self._held += 1
        return False


def install(every: float = 30.0) -> KafkaFloodFilter:
    """Attach one filter to every Kafka client logger that exists now.

    A logger's filter sees only records logged on that very logger (not those of its children),
    so it goes on each module logger (`aiokafka.conn`, `aiokafka.consumer.fetcher`, ...). They
    exist once the modules are imported, which creating the Faust app does."""
    flood = KafkaFloodFilter(every)
    names = [
        name
        for name in (*FLOODING, *logging.Logger.manager.loggerDict)
        if any(name == prefix or name.startswith(prefix + ".") for prefix in FLOODING)
    ]
    for name in dict.fromkeys(names):
        logging.getLogger(name).addFilter(flood)
    return flood
