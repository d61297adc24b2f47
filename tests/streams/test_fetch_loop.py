"""The transport's fetch loop (no broker: the fetches are given). Its per-message bookkeeping is
Faust's (the read offsets and gaps test passes against Faust's own loop too); it races a stop of
the flow once per fetched batch, not once per message, and never marks a stuck delivery read."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from faust.types import TP

from tests.support.faust_app import offline_app

TOPIC = "events"
P0, P1 = TP(TOPIC, 0), TP(TOPIC, 1)


def _message(tp: TP, offset: int):
    return SimpleNamespace(tp=tp, topic=tp.topic, offset=offset, key=None, value=None)


def _drain(batches, *, read_offsets=None, stuck_at=None):
    """Run the consumer's fetch loop over `batches` (lists of (tp, offset)); the loop ends when
    they are used up. At offset `stuck_at` the delivery waits (as into a full queue) until the
    flow is stopped. Returns what was delivered, the gaps reported, the races and the read
    offsets afterwards."""

    async def run():
        app = offline_app()
        app.topics.add(app.topic(TOPIC))  # subscribed, with acks (as the worker's events)
        await app.topics._update_indices()
        consumer = app.consumer
        fetcher = SimpleNamespace(_stopped=asyncio.Event())
        delivered, gaps, races = [], [], []
        pending = list(batches)

        async def getmany(timeout):
            if not pending:
                fetcher._stopped.set()
                return
            for tp, offset in pending.pop(0):
                yield tp, _message(tp, offset)

        async def callback(message):
            delivered.append((message.tp.partition, message.offset))
            if message.offset == stuck_at:
                asyncio.get_running_loop().call_later(0.05, consumer.stop_flow)
                await asyncio.Event().wait()  # never set: only the stop ends this delivery

        async def add_gap(tp, start, end):
            gaps.append((tp.partition, start, end))

        race = consumer.wait_first

        async def counted_race(*coros, **kwargs):
            races.append(len(coros))
            return await race(*coros, **kwargs)

        consumer.getmany = getmany
        consumer.callback = callback
        consumer._add_gap = add_gap
        consumer.wait_first = counted_race
        consumer._commit_every = None
        for tp, offset in (read_offsets or {}).items():
            consumer._read_offset[tp] = offset
        await asyncio.wait_for(consumer._drain_messages(fetcher), timeout=10)
        offsets = {tp.partition: consumer._read_offset[tp] for tp in (P0, P1)}
        return delivered, gaps, races, offsets

    return asyncio.run(run())


def test_every_message_of_every_batch_is_delivered_in_order_with_one_race_per_batch():
    first = [(P0, o) for o in range(0, 250)] + [(P1, o) for o in range(0, 50)]
    second = [(P1, o) for o in range(50, 120)]
    delivered, gaps, races, offsets = _drain([first, second])
    assert delivered == [(tp.partition, o) for tp, o in first + second]
    assert gaps == []
    assert len(races) == 2  # Faust's own loop races once per message: 370 here
    assert offsets == {0: 249, 1: 119}


def test_messages_below_the_read_offset_are_skipped_and_gaps_reported():
    # partition 0 was sought back to 5 (4 and below were delivered); partition 1 read to 10
    batch = [(P0, 3), (P0, 4), (P0, 5), (P0, 6), (P1, 13), (P1, 14)]
    delivered, gaps, _, offsets = _drain([batch], read_offsets={P0: 5, P1: 10})
    assert delivered == [(0, 5), (0, 6), (1, 13), (1, 14)]
    assert gaps == [(1, 11, 13)]  # 11 and 12 never came (Faust acks them as done)
    assert offsets == {0: 6, 1: 14}


def test_a_stop_of_the_flow_ends_a_stuck_delivery_and_it_is_not_marked_read():
    batch = [(P0, o) for o in range(10)]
    delivered, _, races, offsets = _drain([batch], stuck_at=3)
    assert delivered == [(0, 0), (0, 1), (0, 2), (0, 3)]
    assert offsets[0] == 2  # 3 is not marked read: it was never delivered
    assert len(races) == 1
