"""The projector's leader loop: while this worker leads its consumer group, keep the KPI
projections current from the raw log; on losing (or regaining) the lead, start afresh.

The projector has its own ClickHouse client and thread, so a long projection step never delays
an ingest insert (and with it the acknowledgement of a batch). A failing step is logged and the
projector rebuilds from the raw log: the raw log is safe, and ingest goes on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from zoneinfo import ZoneInfo

from kpiflow.projections.projector import Projector
from kpiflow.streams.clickhouse_io import ClickHouseIO

log = logging.getLogger("kpiflow.worker")

IDLE_SECONDS = 0.2  # nothing new in the raw log
FOLLOWER_SECONDS = 1.0  # not the leader: look again
FAILED_SECONDS = 2.0  # a step failed: rebuild after this pause
SYNC_EVERY = 10  # steps between looks at registered/retired definition versions


class ProjectorLoop:
    def __init__(self, store, tz: ZoneInfo) -> None:
        self.io = ClickHouseIO(store)
        self.projector = Projector(self.io.store, tz)

    def progress(self) -> dict[int, dict[str, int | bool]]:
        return self.projector.progress()

    async def run(self, is_leader: Callable[[], bool], should_stop: Callable[[], bool]) -> None:
        projector, io = self.projector, self.io
        was_leader = False
        cycle = 0
        while not should_stop():
            cycle += 1
            if not is_leader():
                if was_leader:
                    await io.run(projector.reset)  # a new leadership starts afresh
                was_leader = False
                await asyncio.sleep(FOLLOWER_SECONDS)
                continue
            try:
                if not was_leader or cycle % SYNC_EVERY == 0 or not projector.has_versions:
                    await io.run(projector.sync_versions)
                applied = await io.run(projector.step)
                was_leader = True
            except Exception:  # noqa: BLE001 - keep the worker alive; the raw log is safe
                log.exception("projector step failed; retrying from the raw log")
                await io.run(projector.reset)
                await asyncio.sleep(FAILED_SECONDS)
                continue
            if not applied:
                await asyncio.sleep(IDLE_SECONDS)
