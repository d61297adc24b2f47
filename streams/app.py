"""The Faust app: one agent ingests micro-batches, one task keeps the projections current.

decode -> validate -> dead letters / raw log (then ack) ...... agent `ingest` (streams/batches.py,
                                   streams/handoff.py: batch n written while n+1 gathers)
raw log tail -> KPI engine -> kpi_rows ........................ task `project` (leader only)
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Sequence
from typing import Any, NoReturn

import faust

from kpiflow.errors import PoisonFloodError
from kpiflow.events.rates import configured_rates, table_for
from kpiflow.projections.definitions import DEFAULT_DEFINITION
from kpiflow.projections.store import ClickHouseStore
from kpiflow.settings import Settings
from kpiflow.streams import collector
from kpiflow.streams.batches import take_batches
from kpiflow.streams.clickhouse_http import ClickHouseHttp
from kpiflow.streams.clickhouse_io import ClickHouseIO
from kpiflow.streams.coordinates import Coordinates
from kpiflow.streams.deadletter import MAX_DEAD_LETTER_BYTES, DeadLetterRefused, is_refusal
from kpiflow.streams.fault_hooks import FaultHooks
from kpiflow.streams.handoff import Handoff
from kpiflow.streams.ingest import IngestService
from kpiflow.streams.kafka_transport import broker_urls, set_fetch_max_wait
from kpiflow.streams.lean_monitor import LeanMonitor
from kpiflow.streams.projector_loop import ProjectorLoop
from kpiflow.streams.raw_schema import RawSchema
from kpiflow.streams.triage import Incoming
from kpiflow.streams.triage_process import make_triage
from kpiflow.streams.web import install_views, remove_gateway_file, write_gateway_file

log = logging.getLogger("kpiflow.worker")

EXIT_POISON = 3
EXIT_BATCH_FAILED = 4
EXIT_STOPPED_MID_BATCH = 0  # a normal stop: nothing is lost, the batch is read again


def faust_broker_credentials(settings: Settings):
    k = settings.kafka
    if k.security_protocol == "PLAINTEXT":
        return None
    import ssl

    context = (
        ssl.create_default_context(cafile=k.ssl_cafile) if "SSL" in k.security_protocol else None
    )
    if k.security_protocol.startswith("SASL"):
        return faust.SASLCredentials(
            username=k.sasl_username,
            password=k.sasl_password.get_secret_value() if k.sasl_password else None,
            ssl_context=context,
            mechanism=k.sasl_mechanism or "PLAIN",
        )
    return faust.SSLCredentials(context)


def _span(batch: list[Incoming]) -> str:
    parts: dict[int, list[int]] = {}
    for m in batch:
        parts.setdefault(m.where.partition, []).append(m.where.offset)
    topic = batch[0].where.topic if batch else "?"
    return ", ".join(f"{topic}[{p}]@{min(o)}-{max(o)}" for p, o in sorted(parts.items()))


def _exit_unacknowledged(code: int) -> NoReturn:
    """Leave at once, the current batch unacknowledged (no shutdown path that could ack it)."""
    logging.shutdown()
    os._exit(code)


def _record_ms(timestamp: float | None) -> int | None:
    """Faust gives the record timestamp in seconds (a float); verify reads it in milliseconds."""
    return None if timestamp is None or timestamp < 0 else round(timestamp * 1000)


def _clickhouse_http(settings: Settings, store: ClickHouseStore) -> ClickHouseHttp | None:
    """The read-only ClickHouse HTTP interface for other processes, when the worker owns the
    embedded engine (a server has its own); None when off or its port is taken."""
    p = settings.pipeline
    if not p.worker_sql_port or not settings.clickhouse_dsn.startswith("chdb:"):
        return None
    reader = ClickHouseIO(store.clone(read_only=True))  # its own client and thread

    def run(sql: str, params: dict[str, str], fmt: str) -> bytes:
        return reader.call(reader.store.raw_sql, sql, params, fmt)

    try:
        return ClickHouseHttp(run, "", store.database, p.worker_sql_port, p.timezone)
    except OSError as exc:
        log.warning(
            "the read-only ClickHouse HTTP interface is off: port %s: %s (set "
            "KPIFLOW_WORKER_SQL_PORT to a free port, or 0)",
            p.worker_sql_port,
            exc,
        )
        return None


def create_app(settings: Settings, store: ClickHouseStore) -> faust.App:
    k, p = settings.kafka, settings.pipeline
    brokers = broker_urls(k.bootstrap_servers)
    app = faust.App(
        k.consumer_group,
        broker=brokers,
        broker_credentials=faust_broker_credentials(settings),
        store="memory://",
        autodiscover=False,
        datadir=str(p.data_dir / "faust"),
        web_enabled=True,
        web_bind="127.0.0.1",
        web_port=p.worker_web_port,
        web_host="127.0.0.1",
        consumer_auto_offset_reset="earliest",
        topic_replication_factor=1,
        topic_partitions=k.partitions,
        producer_acks=-1,
        broker_commit_interval=1.0,
        broker_commit_every=10_000,
        broker_session_timeout=float(os.environ.get("KPIFLOW_SESSION_TIMEOUT", "10")),
        broker_heartbeat_interval=1.0,
        broker_rebalance_timeout=float(os.environ.get("KPIFLOW_REBALANCE_TIMEOUT", "20")),
        broker_request_timeout=30.0,
        stream_wait_empty=False,
        stream_buffer_maxsize=max(4096, p.batch_size * 2),
        consumer_max_fetch_size=4 * 1024 * 1024,
        # a dead letter is the consumed message unchanged: whatever was read must be sendable
        # (Faust's default, 1,000,000 bytes, is below Kafka's default message size of 1 MiB)
        producer_max_request_size=MAX_DEAD_LETTER_BYTES + 64 * 1024,
        logging_config=None,
        monitor=LeanMonitor(),  # no per-message statistics: streams/lean_monitor.py
    )
    set_fetch_max_wait(app, k.fetch_max_wait_ms)
    events_topic = app.topic(k.events_topic, schema=RawSchema(), internal=False)
    dlq_topic = app.topic(k.dlq_topic, schema=RawSchema(), internal=False)
    io = ClickHouseIO(store)

    async def send_dead_letter(value: bytes, headers: list[tuple[str, bytes]]):
        """Queue a dead letter; returns its delivery to await (acks=all) before the batch is
        acknowledged. The ingest queues a batch's dead letters first, then awaits them all."""
        try:
            fut = await dlq_topic.send(value=value, headers=headers)
        except Exception as exc:
            if is_refusal(exc):
                raise DeadLetterRefused(f"{type(exc).__name__}: {exc}") from exc
            raise

        async def delivered() -> None:
            try:
                await fut
            except Exception as exc:
                if is_refusal(exc):
                    raise DeadLetterRefused(f"{type(exc).__name__}: {exc}") from exc
                raise

        return delivered()

    rates = configured_rates(p)  # read once: a new table takes a worker restart (docs/events.md)
    triager = make_triage(p.triage_process, p.currency, rates)
    ingest = IngestService(
        io,
        p.currency,
        k.events_topic,
        send_dead_letter,
        p.poison_cap,
        FaultHooks.from_env(),
        rates=rates,
        triager=triager,
    )
    version_1 = DEFAULT_DEFINITION.model_copy(update={"exchange_rates": table_for(p).as_json()})
    projecting = ProjectorLoop(
        store.clone(), p.tz, p.celebrate_seconds, version_1, p.snapshot_seconds, p.step_seconds
    )

    def unfinished(batch: Sequence[Incoming], exc: BaseException | None) -> NoReturn:
        if exc is None:
            # A stop (SIGTERM, Ctrl-C) while a batch is unfinished: leave it unacknowledged.
            log.warning(
                "stopped while batch %s was unfinished; exiting without acknowledging it "
                "(it is read again at the next start)",
                _span(batch),
            )
            remove_gateway_file(p.data_dir)
            _exit_unacknowledged(EXIT_STOPPED_MID_BATCH)
        if isinstance(exc, PoisonFloodError):
            log.critical("%s", exc)
            # exit without acknowledging this batch: it is read again after the fix
            _exit_unacknowledged(EXIT_POISON)
        log.critical(
            "batch %s could not be processed; exiting without acknowledging it (it is read "
            "again at the next start)",
            _span(batch),
            exc_info=exc,
        )
        _exit_unacknowledged(EXIT_BATCH_FAILED)

    async def written_then_handed(batch: Sequence[Incoming]) -> None:
        inserted = await ingest.process(batch)
        projecting.hand(inserted)  # the projector steps now, without reading the batch back

    def acknowledge(events: Sequence[Any]) -> None:
        # committable once ClickHouse has the batch; reported to the sensors as Faust's ack does
        message_out = app.sensors.on_message_out
        for message in app.consumer.ack_events(events):
            message_out(message.tp, message.offset, message)

    @app.agent(events_topic, name="ingest")
    async def ingest_agent(stream):
        # batch n is written while batch n+1 is gathered; offsets only after the write
        handoff = Handoff(written_then_handed, unfinished, acknowledge)
        try:
            async for batch in take_batches(stream, p.batch_size, p.batch_seconds):
                incoming = [
                    Incoming(
                        e.message.value,
                        Coordinates(e.message.topic, e.message.partition, e.message.offset),
                        _record_ms(e.message.timestamp),
                    )
                    for e in batch
                ]
                await handoff.put(batch, incoming)
        finally:
            await handoff.stop()

    @app.task
    async def announce() -> None:
        # here, not before the worker starts: Faust sets up the log handlers when it starts
        log.info("settings: %s", settings.redacted())
        log.info("event loop: %s", type(asyncio.get_running_loop()).__module__.split(".")[0])
        log.info("garbage collector: %s", collector.describe())
        pid = getattr(triager, "pid", None)
        log.info("triage: %s", f"in a child process (pid {pid})" if pid else "on the event loop")

    @app.task
    async def project() -> None:
        if not p.project:
            log.info("projections are off in this worker (KPIFLOW_PROJECT=false): raw log only")
            return
        await projecting.run(app.is_leader, lambda: app.should_stop)

    sql_endpoint = _clickhouse_http(settings, store)
    token = write_gateway_file(
        p.data_dir, p.worker_web_port, sql_endpoint.port if sql_endpoint else 0
    )
    if sql_endpoint is not None:
        sql_endpoint.token = token
        sql_endpoint.start()

    def state() -> dict:
        return {
            "ingest": ingest.metrics.as_dict(),
            "projector": {str(k_): v for k_, v in projecting.progress().items()},
            "projector_failure": projecting.failure(),
            "leader": app.is_leader() if app.consumer else False,
        }

    # The gateway has its own client and thread too: a long `verify` or `report` through it
    # never delays an ingest insert.
    install_views(
        app, ClickHouseIO(store.clone(read_only=True)), ClickHouseIO(store.clone()), token, state
    )

    @app.on_before_shutdown.connect
    async def _cleanup(app, **kwargs) -> None:  # noqa: ARG001
        remove_gateway_file(p.data_dir)
        if sql_endpoint is not None:
            sql_endpoint.stop()
        # the triage child is not stopped here: a batch may still be on its way through it;
        # it ends with this process (the pipe closes at exit, killed or not)

    return app
