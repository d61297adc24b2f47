"""The projector's leader loop: while this worker leads its consumer group, keep the KPI
projections current from the raw log; on losing (or regaining) the lead, start afresh.

The projector has its own ClickHouse client and thread, so a long projection step never delays
an ingest insert (and with it the acknowledgement of a batch). A failing step is logged and the
projector rebuilds from the raw log: the raw log is safe, and ingest goes on. A step that keeps
failing is loud, not a silent freeze: `failure()` (the worker's state endpoint, `kpiflow status`)
gives the error, how often and since when it failed, and the raw-log position it stands at.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from kpiflow.projections.definitions import Definition
from kpiflow.projections.projector import Projector
from kpiflow.projections.rawlog import Inserted
from kpiflow.streams.clickhouse_io import ClickHouseIO

log = logging.getLogger("kpiflow.worker")

IDLE_SECONDS = 0.2  # nothing new in the raw log: look again (sooner when nudged)
MAX_HANDED = 16  # batches handed over and not stepped yet; more: drop them, the tail has them
FOLLOWER_SECONDS = 1.0  # not the leader: look again
FAILED_SECONDS = 2.0  # a step failed: rebuild after this pause
SYNC_SECONDS = 2.0  # between looks at registered/retired definition versions (a step may
# come every few ms while nudged: a look per so many steps would come as often)


class Wakeup:
    """An idle wait of at most `seconds` that a nudge ends at once. A nudge while nobody waits
    is kept for the next wait (the work it announces is not lost)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._event = asyncio.Event()

    def nudge(self) -> None:
        self._event.set()

    async def wait(self) -> bool:
        """True when nudged, False when the time ran out."""
        try:
            await asyncio.wait_for(self._event.wait(), self.seconds)
            nudged = True
        except TimeoutError:
            nudged = False
        self._event.clear()
        return nudged


@dataclass
class Failure:
    """The projector's current run of failed steps (None once a step succeeds)."""

    error: str
    attempts: int
    since: str  # ISO instant of the first failure of this run
    last: str
    positions: dict[str, dict[str, int]]  # version -> partition -> raw-log offset read


class ProjectorLoop:
    def __init__(
        self,
        store,
        tz: ZoneInfo,
        celebrate_seconds: float = 30.0,
        default: Definition | None = None,
        snapshot_seconds: float = 300.0,
        step_seconds: float = 0.0,
    ) -> None:
        self.io = ClickHouseIO(store)
        # the least time from one step's start to the next while batches come faster: the
        # batches of that time go in one step (one write of the KPI rows they change)
        self._step_seconds = step_seconds
        self.projector = Projector(self.io.store, tz, default, snapshot_seconds)
        self._failure: Failure | None = None
        self._celebrate_seconds = celebrate_seconds
        self._celebrated = 0.0  # monotonic time of the last look for targets reached
        self._wakeup = Wakeup(IDLE_SECONDS)
        self._handed: list[Inserted] = []  # by the ingest, for the next step (event loop only)

    def hand(self, inserted: Inserted) -> None:
        """This worker's ingest put a batch in the raw log: the next step applies it without
        reading it back when it continues where the projections stand, and steps now instead
        of at the next idle look (which finds other workers' batches). Dropping handed batches
        loses nothing: the step then reads the raw log, which holds them."""
        if len(self._handed) >= MAX_HANDED:  # the projector is busy (a replay's bulk build)
            self._handed.clear()
        self._handed.append(inserted)
        self._wakeup.nudge()

    def _celebrate(self) -> None:
        """Record Master KPI targets reached (the leader only, every celebrate_seconds); a
        failure here is logged and never stops the projections."""
        from kpiflow.projections.achievements import record_reached

        try:
            for a in record_reached(self.projector.store, self.projector.tz):
                log.info(
                    "Master KPI target reached: %s %s %.2f of %.2f (plan revision %s); reward: %s",
                    a.kpi, a.who, a.value, a.target, a.plan_revision, a.reward,
                )  # fmt: skip
        except Exception:  # noqa: BLE001 - a celebration must never stop the KPIs
            log.exception("looking for Master KPI targets reached failed; trying again later")

    def progress(self) -> dict[int, dict[str, int | bool]]:
        return self.projector.progress()

    def failure(self) -> dict[str, Any] | None:
        return asdict(self._failure) if self._failure else None

    def _failed(self, exc: Exception) -> None:
        now = datetime.now(UTC).isoformat(timespec="seconds")
        error = f"{type(exc).__name__}: {exc}"[:2000]
        positions = {
            str(v): {str(p): o for p, o in sorted(offsets.items())}
            for v, offsets in self.projector.positions().items()
        }
        previous = self._failure
        attempts = previous.attempts + 1 if previous and previous.error == error else 1
        since = previous.since if previous and attempts > 1 else now
        self._failure = Failure(error, attempts, since, now, positions)
        log.error(
            "projector step failed (%s time(s) in a row since %s) at raw-log position %s; "
            "projections are behind, ingest goes on; retrying from the raw log: %s",
            attempts,
            since,
            positions,
            error,
            exc_info=attempts == 1,
        )

    async def run(self, is_leader: Callable[[], bool], should_stop: Callable[[], bool]) -> None:
        projector, io = self.projector, self.io
        was_leader = False
        synced = 0.0  # monotonic time of the last look at the definition versions
        applied_at = 0.0  # monotonic start of the last step that applied something
        while not should_stop():
            if not is_leader():
                self._handed.clear()  # a follower projects nothing
                if was_leader:
                    await io.run(projector.reset)  # a new leadership starts afresh
                was_leader = False
                await asyncio.sleep(FOLLOWER_SECONDS)
                continue
            try:
                due = time.monotonic() - synced >= SYNC_SECONDS
                if not was_leader or due or not projector.has_versions:
                    await io.run(projector.sync_versions)
                    synced = time.monotonic()
                handed, self._handed = self._handed, []
                started = time.monotonic()
                if await io.run(projector.step, handed):
                    applied_at = started
                was_leader = True
                self._failure = None
            except Exception as exc:  # noqa: BLE001 - keep the worker alive; the raw log is safe
                self._failed(exc)
                await io.run(projector.reset)
                await asyncio.sleep(FAILED_SECONDS)
                continue
            if time.monotonic() - self._celebrated >= self._celebrate_seconds:
                self._celebrated = time.monotonic()
                await io.run(self._celebrate)
            if projector.caught_up:
                # new rows come with a nudge (this worker's) or are found at the idle look
                # (other workers'): stepping again at once would only read an empty tail
                nudged = await self._wakeup.wait()
                # a batch came: if the last step that applied one began less than the step
                # time ago, batches come faster than that; wait for the rest (more may come)
                rest = self._step_seconds - (time.monotonic() - applied_at)
                if nudged and rest > 0 and not should_stop():
                    await asyncio.sleep(rest)
