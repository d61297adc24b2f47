"""Faust's Kafka transport (aiokafka): the fetch wait as a kpiflow setting, a lighter fetch loop.

faust-streaming builds its aiokafka consumer with `fetch_max_wait_ms=1500` written into the
driver. Measured here (bench/e2e_bench.py, 2,000 events/s on one broker): the broker held
each fetch for about that long although data was waiting, every response carried ~1.6 s of
events, and an event waited 1.4-1.6 s (p50) before it reached the raw log. At 100 ms the
same wait was 0.4 s. The value is `KPIFLOW_KAFKA_FETCH_MAX_WAIT_MS` (the README lists the settings);
an idle worker then sends about ten small fetch requests a second.

The consumer's fetch loop races each fetched batch against a stop of the flow (a rebalance, a
stop) once, where Faust's races every message: `Service.wait_first` makes four tasks, an
`asyncio.wait` and three cancellations per message, 27-39 us of the ~115 us a message costs
before it reaches an agent here. What the loop does per message is Faust's: the read offset, the
gaps, the commit every `broker_commit_every` acks, a turn of the event loop every 100 messages.

Two more per-message costs of Faust's consumer are paid once per batch here instead: `getmany`
reads the partition's end offset (for the monitor's lag figures) once per partition per fetched
batch rather than for every message, and `ack_events` acknowledges a processed batch in one pass
under Faust's ack lock rather than through three calls and a lock per event (`Event.ack` ->
`Message.ack` -> `Consumer.ack`). Both keep Faust's bookkeeping exactly (tests/streams compare
the consumer's state with Faust's own path).

An offset commit gets a deadline per attempt (`broker_request_timeout`): once, in the fault
suite, a commit that began while the broker was being killed never returned, although the
consumer went on fetching after the broker came back. Faust's commit timer then waited for it
for good, no offset was committed again, and the worker could not stop. An attempt past its
deadline is cancelled and the commit tried again (aiokafka's own commit retries only what fails
with an error); the offsets stay uncommitted until one attempt goes through, or, when the
consumer stops, the final commit gives up after one deadline (they are read again at the next
start).

The producer's send buffer answers the conductor's per-message "is it full?" from the queue's
length (Faust's answer goes through the settings first).

The transport is registered under the broker URL scheme `kpiflow://` (Faust's own transport
registry, which maps a scheme to a transport class); everything else is Faust's.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any

from faust.transport import producer as faust_producer
from faust.transport.consumer import CONSUMER_FETCHING
from faust.transport.drivers import TRANSPORTS
from faust.transport.drivers import aiokafka as driver
from faust.types.tuples import ack_lock
from mode.utils.futures import notify

SCHEME = "kpiflow"
_WAIT_ATTRIBUTE = "kpiflow_fetch_max_wait_ms"  # on the app (KafkaSettings owns the default)
_YIELD_EVERY = 100  # messages delivered between turns of the event loop (Faust's own figure)


log = logging.getLogger(__name__)


async def commit_within(
    commit: Callable[[], Awaitable[bool]], deadline: float, stopping: Callable[[], bool]
) -> bool:
    """`commit()` with `deadline` seconds per attempt: an attempt past it is cancelled and
    `commit` called again, until one returns (its answer) or `stopping()` says the consumer
    stops (False: nothing was committed, the offsets are read again at the next start)."""
    started = asyncio.get_running_loop().time()
    while True:
        try:
            return await asyncio.wait_for(commit(), deadline)
        except TimeoutError:
            waited = asyncio.get_running_loop().time() - started
            if stopping():
                log.warning(
                    "offset commit did not finish in %.0fs and the consumer stops: not "
                    "committed (those events are read again at the next start and the raw "
                    "log's deduplication drops them)",
                    waited,
                )
                return False
            log.warning(
                "offset commit did not finish in %.0fs (is the broker back?); trying again",
                waited,
            )


class ConsumerThread(driver.AIOKafkaConsumerThread):
    async def _commit(self, offsets: Any) -> bool:
        """Faust's commit, each attempt within the request timeout (the module says why)."""
        return await commit_within(
            functools.partial(super()._commit, offsets),
            float(self.app.conf.broker_request_timeout),
            lambda: self.should_stop or self.consumer.should_stop,  # (the final commit)
        )

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

    async def getmany(self, timeout: float) -> AsyncIterator[tuple[Any, Any]]:
        """Faust's `getmany`: the fetched records round-robin over the partitions, until the
        flow stops or the consumer generation changes, only of the partitions being read. The
        end offset the monitor tracks is read once per partition of the batch, not per message:
        the monitor's lag figures are then at most one fetched batch old."""
        records, active = await self._wait_next_records(timeout)
        if records is None or self.should_stop:
            return
        if not self.flow_active:  # Faust's answer: back to the committed offsets
            self.log.dev("getmany called while flow not active. Seek back to committed offsets.")
            try:
                await self.perform_seek()
            except Exception as exc:  # noqa: BLE001 (Faust only warns here too)
                self.log.warning(f"exception performing seek when flow not active {exc}")
            return
        app = self.app
        generation = app.consumer_generation_id
        buffered = self._buffered_partitions
        to_message = self._to_message
        track_end = app.monitor.track_tp_end_offset
        tracked: set[Any] = set()
        for tp, record in self.scheduler.iterate(records):
            if not self.flow_active or app.consumer_generation_id != generation:
                break
            if active is None or tp in active or tp in buffered:
                if tp not in tracked:
                    tracked.add(tp)
                    track_end(tp, self.highwater(tp))
                yield tp, to_message(tp, record)

    def ack_events(self, events: Iterable[Any]) -> list[Any]:
        """`Event.ack` for each of `events` in one pass under Faust's ack lock: a message whose
        last reference this was is marked acknowledged, and if its topic is acknowledged (the
        agent's topic is) and its offset neither below the committed one nor acknowledged
        before, it becomes committable. Returns those messages, as Faust's ack returns True for
        each; the caller reports them to the sensors."""
        committable = []
        with ack_lock:
            acking = self.app.topics.acks_enabled_for
            committed_offset, acked, acked_index = (
                self._committed_offset,
                self._acked,
                self._acked_index,
            )
            discard = self._unacked_messages.discard
            notified = False
            for event in events:
                message = event.message
                if message.acked:
                    continue
                if message.refcount > 1:  # another reader still holds it: not the last ack
                    message.refcount -= 1
                    continue
                message.refcount = 0
                message.acked = True
                if not acking(message.topic):
                    continue
                notified = True
                tp, offset = message.tp, message.offset
                committed = committed_offset[tp]
                if committed is not None and offset < committed:
                    continue
                index = acked_index[tp]
                if offset in index:
                    continue
                discard(message)
                index.add(offset)
                acked[tp].append(offset)
                committable.append(message)
            self._n_acked += len(committable)
            if notified:
                notify(self._waiting_for_ack)
        return committable

    async def _drain_messages(self, fetcher: Any) -> None:
        """Faust's fetch loop with one race against a stop of the flow per fetched batch
        instead of one per message (the module's docstring says what that saves)."""
        try:
            while not (self._stopped.is_set() or fetcher._stopped.is_set()):
                self.diag.set_flag(CONSUMER_FETCHING)
                records = self.getmany(timeout=1.0)
                await self.sleep(0)  # getmany may return at once, again and again
                if not self.should_stop:
                    # the fetch itself stays outside the race, as in Faust's loop: a stopped
                    # flow makes it wait for the resume instead of returning at once
                    first = await anext(records, None)
                    if first is not None:
                        batch = _chained(first, records)
                        await self.wait_first(self._deliver(batch), self.suspend_flow.wait())
                self.diag.unset_flag(CONSUMER_FETCHING)
        except self.consumer_stopped_errors:
            if self.transport.app.should_stop:
                self.log.info("Broker stopped consumer, shutting down...")
                return
            raise
        except asyncio.CancelledError:
            if self.transport.app.should_stop:
                self.log.info("Consumer shutting down for user cancel.")
                return
            raise
        except Exception as exc:
            self.log.exception("Drain messages raised: %r", exc)
            raise
        finally:
            self.diag.unset_flag(CONSUMER_FETCHING)

    async def _deliver(self, batch: AsyncIterator[tuple[Any, Any]]) -> None:
        """Hand each message to the conductor, with Faust's bookkeeping per message: the read
        offset (a message below it was delivered already), gaps in the offsets (acked as
        done), a commit every `broker_commit_every` acks, and a turn of the event loop every
        100 messages (a delivery into a queue with room never yields)."""
        callback = self.callback
        read_offset = self._read_offset
        since_yield = 0
        async for tp, message in batch:
            since_yield += 1
            if since_yield > _YIELD_EVERY:
                await asyncio.sleep(0)
                since_yield = 0
            offset = message.offset
            read = read_offset[tp]
            if read is not None and offset < read:
                continue
            if read and offset - read > 1 and self.app.topics.acks_enabled_for(message.topic):
                await self._add_gap(tp, read + 1, offset)
            if self._commit_every is not None and self._n_acked >= self._commit_every:
                self._n_acked = 0
                await self.commit()
            await callback(message)
            read_offset[tp] = offset


async def _chained(first: Any, rest: AsyncIterator[Any]) -> AsyncIterator[Any]:
    yield first
    async for item in rest:
        yield item


class ProducerBuffer(faust_producer.ProducerBuffer):
    async def wait_until_ebb(self) -> None:
        """Faust's wait for a full send buffer, which the conductor awaits for every message
        consumed: the buffer's length read at once (Faust's `size` looks the threaded-producer
        setting up first, through the settings' access tracking)."""
        if self.pending.qsize() > self.max_messages:
            await super().wait_until_ebb()


class Producer(driver.Producer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.app.conf.producer_threaded:  # (a threaded producer buffers elsewhere)
            buffer = ProducerBuffer(loop=self.loop, beacon=self.beacon)
            buffer.app = self.app
            self.buffer = buffer


class Transport(driver.Transport):
    Consumer = Consumer
    Producer = Producer


def broker_urls(bootstrap_servers: str) -> list[str]:
    """Faust broker URLs for a bootstrap list; they select this transport."""
    TRANSPORTS.aliases[SCHEME] = f"{__name__}:Transport"
    return [f"{SCHEME}://{b.strip()}" for b in bootstrap_servers.split(",") if b.strip()]


def set_fetch_max_wait(app: Any, wait_ms: int) -> None:
    """The fetch wait of `app`'s consumer (read when the worker starts its consumer)."""
    setattr(app, _WAIT_ATTRIBUTE, int(wait_ms))
