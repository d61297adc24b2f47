"""The handoff: batch n is processed while n+1 is gathered, and acknowledged only after it.

Faust's own Message (its reference count and ack) with a stand-in for the stream's event; the
real agent and broker are in tests/faults (stops, kills, failures mid-batch)."""

from __future__ import annotations

import asyncio

from faust.types.tuples import Message

from kpiflow.streams.coordinates import Coordinates
from kpiflow.streams.handoff import Handoff
from kpiflow.streams.triage import Incoming


class Event:
    """What take_batches yields: the message with the conductor's reference (refcount 1)."""

    def __init__(self, offset: int) -> None:
        self.message = Message("t", 0, offset, 0.0, 0, None, None, b"{}", None)
        self.message.incref()  # the stream's reference, as Faust's conductor gives it

    def ack(self) -> bool:
        return self.message.ack(None)


def batch(first: int, n: int = 3) -> tuple[list[Event], list[Incoming]]:
    events = [Event(first + i) for i in range(n)]
    return events, [Incoming(b"{}", Coordinates("t", 0, first + i), None) for i in range(n)]


class Recorder:
    def __init__(self) -> None:
        self.gates: dict[int, asyncio.Event] = {}
        self.started: list[int] = []
        self.unfinished: list[tuple[int, BaseException | None]] = []
        self.out: list[int] = []
        self.fail_at: int | None = None

    async def process(self, incoming) -> None:
        first = incoming[0].where.offset
        self.started.append(first)
        gate = self.gates.setdefault(first, asyncio.Event())
        await gate.wait()
        if first == self.fail_at:
            raise ValueError("ClickHouse said no")

    def on_unfinished(self, incoming, exc):
        self.unfinished.append((incoming[0].where.offset, exc))

    def acknowledge(self, events) -> None:
        for event in events:
            if event.ack():
                self.out.append(event.message.offset)

    def handoff(self) -> Handoff:
        return Handoff(self.process, self.on_unfinished, self.acknowledge)

    def open(self, first: int) -> None:
        self.gates.setdefault(first, asyncio.Event()).set()


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def test_a_batch_is_acknowledged_only_after_it_was_processed():
    async def main():
        r = Recorder()
        h = r.handoff()
        events, incoming = batch(0)
        await h.put(events, incoming)
        await settle()
        assert r.started == [0]
        assert not any(e.message.acked for e in events)
        assert h.unfinished() == incoming
        r.open(0)
        await settle()
        assert all(e.message.acked for e in events)
        assert r.out == [0, 1, 2]
        assert h.unfinished() is None
        await h.stop()
        assert r.unfinished == []

    asyncio.run(main())


def test_the_next_batch_is_gathered_while_one_is_processed_and_they_run_in_order():
    async def main():
        r = Recorder()
        h = r.handoff()
        first, second, third = batch(0), batch(10), batch(20)
        await h.put(*first)
        await settle()
        await asyncio.wait_for(h.put(*second), 1)  # returns while batch 0 is still processed
        put_third = asyncio.ensure_future(h.put(*third))
        await settle()
        assert not put_third.done()  # one processed, one waiting: the third waits
        assert r.started == [0]
        r.open(10)  # the second may not overtake the first
        await settle()
        assert r.started == [0]
        r.open(0)
        await settle()
        assert put_third.done()
        assert r.started == [0, 10, 20]  # 10 was free to finish: 20 is taken at once
        assert all(e.message.acked for e in first[0] + second[0])
        assert not any(e.message.acked for e in third[0])
        r.open(20)
        await settle()
        assert all(e.message.acked for e in third[0])
        assert r.out == [0, 1, 2, 10, 11, 12, 20, 21, 22]  # acknowledged in batch order
        await h.stop()

    asyncio.run(main())


def test_a_failed_batch_is_never_acknowledged_and_reported_with_its_error():
    async def main():
        r = Recorder()
        r.fail_at = 0
        h = r.handoff()
        events, incoming = batch(0)
        await h.put(events, incoming)
        r.open(0)
        await settle()
        assert [(offset, type(exc)) for offset, exc in r.unfinished] == [(0, ValueError)]
        assert not any(e.message.acked for e in events)
        assert r.out == []
        later, later_incoming = batch(10)
        await h.put(later, later_incoming)  # nothing after a failed batch is processed
        await settle()
        assert r.started == [0]

    asyncio.run(main())


def test_a_stop_with_a_batch_unfinished_leaves_it_unacknowledged():
    async def main():
        r = Recorder()
        h = r.handoff()
        events, incoming = batch(5)
        await h.put(events, incoming)
        await settle()
        await h.stop()
        assert r.unfinished == [(5, None)]
        r.open(5)  # even if the write ends after the stop, the batch stays unacknowledged
        await settle()
        assert not any(e.message.acked for e in events)

    asyncio.run(main())


def test_a_stop_while_idle_ends_quietly():
    async def main():
        r = Recorder()
        h = r.handoff()
        events, incoming = batch(0)
        await h.put(events, incoming)
        r.open(0)
        await settle()
        await h.stop()
        await h.stop()  # twice is harmless
        assert r.unfinished == []
        assert all(e.message.acked for e in events)

    asyncio.run(main())
