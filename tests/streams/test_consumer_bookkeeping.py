"""The transport consumer's per-batch bookkeeping against Faust's per-message path (no broker).

`ack_events` must leave the consumer exactly as `Event.ack` for each event does (what becomes
committable, the acked lists, the unacked set, the ack count, the waiter), and `getmany` must
yield what Faust's yields while reading each partition's end offset once per fetched batch.
"""

from __future__ import annotations

import asyncio

from faust.transport.consumer import Consumer as FaustConsumer
from faust.types import TP
from faust.types.tuples import ConsumerMessage

from tests.support.faust_app import offline_app

ACKED, UNACKED = "events", "side"  # the agent's topic (acks on) and one read without acks
P0, P1, S0 = TP(ACKED, 0), TP(ACKED, 1), TP(UNACKED, 0)


def _consumer():
    app = offline_app()
    app.topics.add(app.topic(ACKED))
    app.topics.add(app.topic(UNACKED, acks=False))
    asyncio.run(app.topics._update_indices())
    return app.consumer


class Event:
    """Faust's `Event.ack` is `self.message.ack(self.app.consumer)`; this is that, unbound."""

    def __init__(self, message: ConsumerMessage, consumer) -> None:
        self.message, self._consumer = message, consumer

    def ack(self) -> bool:
        return self.message.ack(self._consumer)


def _scene(consumer):
    """Messages in every state an ack can meet, tracked as the stream tracks them."""
    consumer._committed_offset[P0] = 5
    consumer._acked[P1].append(2)  # offset 2 of P1 acknowledged by an earlier batch
    consumer._acked_index[P1].add(2)
    layout = [
        (P0, 3, 1),  # below the committed offset
        (P0, 5, 1),
        (P0, 6, 1),
        (P0, 6, 1),  # a second message at an offset already acknowledged in this batch
        (P0, 7, 2),  # held by another reader too: this ack is not its last
        (P1, 1, 1),
        (P1, 2, 1),  # acknowledged before
        (P1, 3, 1),
        (S0, 0, 1),  # a topic without acks
        (P1, 4, 0),  # already acknowledged (below)
    ]
    messages = []
    for tp, offset, refs in layout:
        m = ConsumerMessage(tp.topic, tp.partition, offset, 0.0, 0, None, None, b"{}", None)
        if refs:
            m.incref(refs)
        consumer._unacked_messages.add(m)
        messages.append(m)
    messages[-1].acked = True
    return messages


def _state(consumer, messages, committable):
    return {
        "committable": [(m.tp, m.offset) for m in committable],
        "messages": [(m.acked, m.refcount) for m in messages],
        "acked": {tp: list(v) for tp, v in consumer._acked.items() if v},
        "index": {tp: set(v) for tp, v in consumer._acked_index.items() if v},
        "unacked": sorted(i for i, m in enumerate(messages) if m in consumer._unacked_messages),
        "n_acked": consumer._n_acked,
    }


def test_acknowledging_a_batch_leaves_the_consumer_as_fausts_per_event_acks_do():
    faust_side, ours = _consumer(), _consumer()
    faust_messages, our_messages = _scene(faust_side), _scene(ours)
    committable = [m for m in faust_messages if Event(m, faust_side).ack()]
    expected = _state(faust_side, faust_messages, committable)
    got = _state(ours, our_messages, ours.ack_events([Event(m, ours) for m in our_messages]))
    assert got == expected
    # and what that is, spelled out: 5 and 6 of P0, 1 and 3 of P1, nothing else
    assert got["committable"] == [(P0, 5), (P0, 6), (P1, 1), (P1, 3)]
    assert got["messages"][4] == (False, 1)  # the shared message waits for its other reader
    assert got["n_acked"] == 4


def test_a_second_ack_of_the_same_batch_changes_nothing():
    consumer = _consumer()
    messages = _scene(consumer)
    events = [Event(m, consumer) for m in messages]
    consumer.ack_events(events)
    after_first = _state(consumer, messages, [])
    events = [e for i, e in enumerate(events) if i != 4]  # the shared one would go on counting
    assert consumer.ack_events(events) == []
    assert _state(consumer, messages, []) == after_first


def test_a_consumer_waiting_for_acks_is_woken():
    consumer = _consumer()
    messages = _scene(consumer)

    async def main():
        consumer._waiting_for_ack = asyncio.get_running_loop().create_future()
        consumer.ack_events([Event(messages[1], consumer)])
        assert consumer._waiting_for_ack.done()

    asyncio.run(main())


def _fetched(getmany, records, *, active=None, generation_changes_at=None):
    """One fetch of `records` through `getmany` (ours or Faust's) on a fresh consumer: the
    (tp, record) pairs yielded, the end offsets the monitor holds after, and the partitions whose
    end offset was read, in the order read."""
    consumer = _consumer()
    consumer.app.consumer_generation_id = 1
    reads = []

    async def wait_next_records(timeout):
        return records, active

    consumer._wait_next_records = wait_next_records
    consumer._to_message = lambda tp, record: record
    consumer.highwater = lambda tp: reads.append(tp) or 100 + tp.partition

    async def run():
        out = []
        async for tp, record in getmany(consumer, 1.0):
            out.append((tp, record))
            if len(out) == generation_changes_at:
                consumer.app.consumer_generation_id += 1
        return out

    yielded = asyncio.run(run())
    return yielded, dict(consumer.app.monitor.tp_end_offsets), reads


def test_getmany_yields_what_fausts_does_reading_each_end_offset_once_per_batch():
    records = {P0: ["a", "b", "c"], P1: ["d", "e"], S0: ["f"]}
    ours = type(_consumer()).getmany
    assert ours is not FaustConsumer.getmany
    for case in (
        {},
        {"active": {P0, S0}},  # P1 paused: its records are held back
        {"generation_changes_at": 2},  # a rebalance in the middle ends the batch
    ):
        f_yielded, f_ends, f_reads = _fetched(FaustConsumer.getmany, records, **case)
        o_yielded, o_ends, o_reads = _fetched(ours, records, **case)
        assert o_yielded == f_yielded, case
        assert o_ends == f_ends, case
        assert len(f_reads) == len(f_yielded)  # Faust reads it for every message
        assert len(o_reads) == len(set(o_reads)) == len(set(f_reads)), case
    assert len(_fetched(ours, records)[0]) == 6
