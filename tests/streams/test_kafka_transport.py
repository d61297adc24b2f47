"""The worker's Kafka transport: Faust's aiokafka driver with the fetch wait from the settings
(no broker needed: the consumer is built, never started)."""

from __future__ import annotations

import asyncio

import faust
from faust.transport.drivers import aiokafka as faust_driver

from kpiflow.settings import KafkaSettings
from kpiflow.streams.kafka_transport import Transport, broker_urls, set_fetch_max_wait


def _built_consumer(app: faust.App):
    async def build():
        thread = app.consumer._thread
        consumer = thread._create_worker_consumer(app.transport)
        try:
            return type(app.transport), consumer._fetch_max_wait_ms
        finally:
            await consumer.stop()

    return asyncio.run(build())


def _app(brokers: list[str]) -> faust.App:
    return faust.App(
        "kpiflow-test", broker=brokers, store="memory://", autodiscover=False, web_enabled=False
    )


def test_the_worker_consumer_fetches_with_the_configured_wait():
    app = _app(broker_urls("127.0.0.1:9092, 127.0.0.1:9093"))
    set_fetch_max_wait(app, 42)
    assert [str(u) for u in app.conf.broker] == [
        "kpiflow://127.0.0.1:9092",
        "kpiflow://127.0.0.1:9093",
    ]
    transport, wait_ms = _built_consumer(app)
    assert transport is Transport
    assert wait_ms == 42


def test_the_default_wait_is_far_below_fausts_own():
    """Why the transport exists: Faust's driver fixes 1,500 ms, ours defaults to 100."""
    faust_wait = _built_consumer(_app(["kafka://127.0.0.1:9092"]))
    assert faust_wait == (faust_driver.Transport, 1500)
    assert KafkaSettings.model_fields["fetch_max_wait_ms"].default == 100


def test_without_a_configured_wait_fausts_own_stays():
    transport, wait_ms = _built_consumer(_app(broker_urls("127.0.0.1:9092")))
    assert (transport, wait_ms) == (Transport, 1500)


def test_the_send_buffer_waits_only_when_full():
    import asyncio

    from kpiflow.streams.kafka_transport import ProducerBuffer

    async def main() -> tuple[bool, bool]:
        buffer = ProducerBuffer()
        flushed = []

        async def flush_atmost(n):
            flushed.append(n)
            return 0

        buffer.flush_atmost = flush_atmost  # type: ignore[method-assign]
        await buffer.wait_until_ebb()  # empty: no wait
        empty = not flushed
        for n in range(buffer.max_messages + 1):
            buffer.pending.put_nowait(n)
        buffer.app = type("App", (), {"conf": type("Conf", (), {"producer_threaded": False})})()
        await buffer.wait_until_ebb()  # over the limit: Faust's flush
        return empty, flushed == [buffer.max_messages]

    assert asyncio.run(main()) == (True, True)
