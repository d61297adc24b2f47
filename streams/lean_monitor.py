"""Faust's monitor sensor without its per-message bookkeeping.

Faust calls four sensor methods for every message (in, stream in, stream out, out); its
`Monitor` keeps counters, per-stream and per-task tallies and timings in them, which only its
own `/stats` page shows: kpiflow reports its ingest through its state endpoint and the consumer
lag from Kafka (`kpiflow status`). This monitor keeps what Faust itself reads back: the read
offset per partition and the time a stream last took an event in (the consumer's check for a
stream that stopped taking events). Everything else of `Monitor` (commits, sends, rebalances,
the web requests) is unchanged.
"""

from __future__ import annotations

from time import monotonic
from typing import Any

from faust.sensors.monitor import Monitor


class LeanMonitor(Monitor):
    def on_message_in(self, tp: Any, offset: int, message: Any) -> None:
        self.tp_read_offsets[tp] = offset

    def on_stream_event_in(self, tp: Any, offset: int, stream: Any, event: Any) -> None:
        self.stream_inbound_time[tp] = monotonic()
        return None

    def on_stream_event_out(
        self, tp: Any, offset: int, stream: Any, event: Any, state: Any = None
    ) -> None:
        pass

    def on_message_out(self, tp: Any, offset: int, message: Any) -> None:
        pass
