"""Faust's Kafka transport (aiokafka), with the consumer's fetch wait as a kpiflow setting.

faust-streaming builds its aiokafka consumer with `fetch_max_wait_ms=1500` written into the
driver. Measured here (bench/e2e_bench.py, 2,000 events/s on one broker): the broker held
each fetch for about that long although data was waiting, every response carried ~1.6 s of
events, and an event waited 1.4-1.6 s (p50) before it reached the raw log. At 100 ms the
same wait was 0.4 s. The value is `KPIFLOW_KAFKA_FETCH_MAX_WAIT_MS` (the README lists the settings);
an idle worker then sends about ten small fetch requests a second.

The transport is registered under the broker URL scheme `kpiflow://` (Faust's own transport
registry, which maps a scheme to a transport class); everything else is Faust's.
"""

from __future__ import annotations

from typing import Any

from faust.transport.drivers import TRANSPORTS
from faust.transport.drivers import aiokafka as driver

SCHEME = "kpiflow"
_WAIT_ATTRIBUTE = "kpiflow_fetch_max_wait_ms"  # on the app (KafkaSettings owns the default)


class ConsumerThread(driver.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        wait_ms = getattr(self.app, _WAIT_ATTRIBUTE, None)
        if wait_ms is not None:  # else Faust's own value stays
            # aiokafka hands this to its fetcher when the consumer starts (it has not yet)
            consumer._fetch_max_wait_ms = wait_ms
        return consumer


class Consumer(driver.Consumer):
    def _new_consumer_thread(self) -> ConsumerThread:
        return ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class Transport(driver.Transport):
    Consumer = Consumer


def broker_urls(bootstrap_servers: str) -> list[str]:
    """Faust broker URLs for a bootstrap list; they select this transport."""
    TRANSPORTS.aliases[SCHEME] = f"{__name__}:Transport"
    return [f"{SCHEME}://{b.strip()}" for b in bootstrap_servers.split(",") if b.strip()]


def set_fetch_max_wait(app: Any, wait_ms: int) -> None:
    """The fetch wait of `app`'s consumer (read when the worker starts its consumer)."""
    setattr(app, _WAIT_ATTRIBUTE, int(wait_ms))
