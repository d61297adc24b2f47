"""Batch n is processed while the agent gathers batch n+1; each batch is acknowledged after it.

The agent's batches come unacknowledged (streams/batches.py), each message holding the one
reference the conductor gave it. One task processes the batches in the order they came and
acknowledges a batch's events only after `process` returned (ClickHouse accepted it, its dead
letters were delivered): only then does the consumer see the offsets as done. At most one batch
waits while another is processed, so memory stays bounded and a slow ClickHouse slows the
consumer down instead of queueing events.

A failure, or a stop while a batch is unfinished, goes to `on_unfinished` (the worker exits
without acknowledging: the batch is read again at the next start). Should it return, that batch
and every later one stay unacknowledged all the same.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from kpiflow.streams.triage import Incoming

Process = Callable[[Sequence[Incoming]], Awaitable[None]]
# (the batch that is unfinished, the exception or None for a stop) -> never returns
OnUnfinished = Callable[[Sequence[Incoming], BaseException | None], None]
# acknowledges a processed batch's Faust events (the worker: the consumer's `ack_events`)
Acknowledge = Callable[[Sequence[Any]], None]


class Handoff:
    def __init__(
        self, process: Process, on_unfinished: OnUnfinished, acknowledge: Acknowledge
    ) -> None:
        self._process = process
        self._on_unfinished = on_unfinished
        self._acknowledge = acknowledge
        self._queue: asyncio.Queue[tuple[Sequence[Any], list[Incoming]]] = asyncio.Queue(1)
        self._current: list[Incoming] | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    async def put(self, events: Sequence[Any], incoming: list[Incoming]) -> None:
        """Hand a batch over; waits while one batch is processed and another already waits.
        `events` are Faust events whose messages nothing has acknowledged."""
        if self._task is None:
            self._task = asyncio.ensure_future(self._run())
        try:
            await self._queue.put((events, incoming))
        except asyncio.CancelledError:
            self._on_unfinished(incoming, None)
            raise

    def unfinished(self) -> list[Incoming] | None:
        """The batch being processed, else the one waiting, else None."""
        if self._current is not None:
            return self._current
        if not self._queue.empty():
            return self._queue._queue[0][1]  # type: ignore[attr-defined]
        return None

    async def stop(self) -> None:
        """At a stop: exits unacknowledged when a batch is unfinished, else ends the task."""
        pending = self.unfinished()
        if pending is not None:
            self._stopping = True
            self._on_unfinished(pending, None)
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            events, incoming = await self._queue.get()
            self._current = incoming
            try:
                await self._process(incoming)
            except asyncio.CancelledError:
                if not self._stopping:  # else stop() has reported it
                    self._on_unfinished(incoming, None)
                return  # never released: whatever on_unfinished did, the batch stays unacked
            except Exception as exc:  # noqa: BLE001 (to the worker, which exits unacknowledged)
                self._on_unfinished(incoming, exc)
                return
            self._acknowledge(events)
            self._current = None
