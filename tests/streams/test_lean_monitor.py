"""The worker's monitor keeps what Faust reads back per message, and nothing else per message."""

from __future__ import annotations

from faust.types import TP

from kpiflow.streams.lean_monitor import LeanMonitor


class Message:
    time_in = None


def test_it_keeps_the_read_offset_and_the_stream_inbound_time_only():
    monitor = LeanMonitor()
    tp = TP("sales.events", 2)
    message = Message()
    monitor.on_message_in(tp, 41, message)
    assert monitor.on_stream_event_in(tp, 41, object(), object()) is None
    monitor.on_stream_event_out(tp, 41, object(), object(), None)
    monitor.on_message_out(tp, 41, message)
    assert monitor.tp_read_offsets[tp] == 41  # read back by Faust's /metrics
    assert tp in monitor.stream_inbound_time  # read back by the consumer's stall check
    assert monitor.messages_received_total == 0 and monitor.events_total == 0
    assert message.time_in is None  # no timing kept on the message
