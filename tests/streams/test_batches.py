"""take_batches: an agent's stream in micro-batches, from the queue Faust's conductor fills.

A real Faust app and stream (never started, no broker needed); the events are Faust's own, put
into the stream's queue as the conductor puts them. The agent on a real broker is in tests/faults
and the pipeline tests."""

from __future__ import annotations

import asyncio
import time

import faust
import pytest
from faust.types.tuples import Message

from kpiflow.streams.batches import take_batches


class Feed:
    def __init__(self) -> None:
        self.app = faust.App(
            "take-batches-test",
            broker="kafka://127.0.0.1:1",  # never contacted
            store="memory://",
            autodiscover=False,
            web_enabled=False,
        )
        self.stream = self.app.stream(self.app.channel())
        self.app.flow_control.resume()  # as the worker does once partitions are assigned
        self.app.topics._acking_topics.add("t")  # as the conductor does for a subscribed topic
        self.queue = self.stream.channel.queue

    def put(self, offset: int, generation: int | None = None) -> faust.types.EventT:
        gen = self.app.consumer_generation_id if generation is None else generation
        message = Message("t", 0, offset, 0.0, 0, None, None, b"{}", None, generation_id=gen)
        message.incref()  # the conductor's reference, one per channel
        message.tracked = False  # as with Message.use_tracking on (Faust's default is off)
        event = self.app.create_event(None, offset, {}, message)
        self.queue.put_nowait(event)
        return event


def offsets(batch) -> list[int]:
    return [e.message.offset for e in batch]


def test_batches_hold_at_most_max_events_in_order_and_come_unacknowledged():
    async def main():
        feed = Feed()
        events = [feed.put(i) for i in range(7)]
        batches = take_batches(feed.stream, 3, 10.0)
        got = [await anext(batches), await anext(batches)]
        assert [offsets(b) for b in got] == [[0, 1, 2], [3, 4, 5]]
        assert not any(e.message.acked for e in events)
        assert all(e.message.refcount == 1 for e in events[:6])
        unacked = feed.app.consumer._unacked_messages
        assert all(e.message in unacked for e in events[:6])  # tracked, as Faust's iterator does
        await batches.aclose()

    asyncio.run(main())


def test_a_batch_that_does_not_fill_goes_within_seconds_of_its_first_event():
    async def main():
        feed = Feed()
        batches = take_batches(feed.stream, 100, 0.2)
        waiting = asyncio.ensure_future(anext(batches))
        await asyncio.sleep(0.5)
        assert not waiting.done()  # an idle stream yields nothing, not even an empty batch
        started = time.monotonic()
        feed.put(0)
        await asyncio.sleep(0.05)
        feed.put(1)
        batch = await asyncio.wait_for(waiting, 2)
        took = time.monotonic() - started
        assert offsets(batch) == [0, 1]
        assert 0.15 <= took < 0.6
        await batches.aclose()

    asyncio.run(main())


def test_events_from_before_a_rebalance_are_skipped_and_never_acknowledged():
    async def main():
        feed = Feed()
        old = feed.put(0, generation=feed.app.consumer_generation_id - 1)
        feed.put(1)
        batches = take_batches(feed.stream, 1, 10.0)
        assert offsets(await anext(batches)) == [1]
        assert not old.message.acked and old.message.refcount == 1
        assert old.message not in feed.app.consumer._unacked_messages
        await batches.aclose()

    asyncio.run(main())


def test_no_event_is_taken_while_flow_control_is_off():
    async def main():
        feed = Feed()
        feed.put(0)
        feed.app.flow_control.suspend()  # a rebalance began (the queue is not cleared yet)
        batches = take_batches(feed.stream, 1, 10.0)
        waiting = asyncio.ensure_future(anext(batches))
        await asyncio.sleep(0.1)
        assert not waiting.done()
        waiting.cancel()

    asyncio.run(main())


def test_an_error_thrown_into_the_channel_reaches_the_agent():
    async def main():
        feed = Feed()
        feed.put(0)
        feed.queue._throw(ValueError("could not decode"))
        batches = take_batches(feed.stream, 10, 10.0)
        with pytest.raises(ValueError, match="could not decode"):
            await anext(batches)

    asyncio.run(main())
