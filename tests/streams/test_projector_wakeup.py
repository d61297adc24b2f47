"""The projector's idle wait: a nudge from the ingest ends it at once, else it times out."""

from __future__ import annotations

import asyncio
import time

from kpiflow.streams.projector_loop import Wakeup


def test_a_nudge_ends_the_wait_at_once():
    async def main():
        w = Wakeup(5.0)
        started = time.monotonic()
        asyncio.get_running_loop().call_later(0.05, w.nudge)
        assert await w.wait() is True
        return time.monotonic() - started

    assert asyncio.run(main()) < 2.0  # far below the 5 s idle wait


def test_without_a_nudge_the_wait_times_out():
    async def main():
        return await Wakeup(0.05).wait()

    assert asyncio.run(main()) is False


def test_a_nudge_before_the_wait_is_kept_once():
    async def main():
        w = Wakeup(0.05)
        w.nudge()  # a batch landed while the projector was stepping
        first = await w.wait()
        second = await w.wait()  # consumed: the next wait is an idle one again
        return first, second

    assert asyncio.run(main()) == (True, False)


class Recording:
    """The projector's side of the loop, recording what each step was handed."""

    has_versions = True
    caught_up = True

    def __init__(self) -> None:
        self.steps: list[int] = []

    def sync_versions(self) -> None:
        pass

    def step(self, handed) -> int:
        self.steps.append(len(handed))
        return len(handed)


def _steps_of_batches_every(step_seconds: float, every: float, batches: int) -> list[int]:
    from zoneinfo import ZoneInfo

    from kpiflow.streams.projector_loop import ProjectorLoop

    async def main() -> list[int]:
        loop = ProjectorLoop(None, ZoneInfo("UTC"), 3600.0, step_seconds=step_seconds)
        loop.projector = Recording()  # type: ignore[assignment]
        loop._celebrate = lambda: None  # type: ignore[method-assign]  (no targets here)
        done = False
        running = asyncio.ensure_future(loop.run(lambda: True, lambda: done))
        for n in range(batches):
            await asyncio.sleep(every)
            loop.hand(f"batch {n}")  # type: ignore[arg-type]
        await asyncio.sleep(max(step_seconds, every) + 0.3)
        done = True
        loop._wakeup.nudge()
        await asyncio.wait_for(running, 5)
        return [n for n in loop.projector.steps if n]  # type: ignore[attr-defined]

    return asyncio.run(main())


def test_batches_that_come_faster_than_the_step_time_are_stepped_together():
    steps = _steps_of_batches_every(step_seconds=0.4, every=0.05, batches=24)
    assert sum(steps) == 24  # every batch applied, none twice
    assert len(steps) <= 6 and max(steps) >= 5, steps  # 1.2 s of batches in 0.4 s steps


def test_batches_slower_than_the_step_time_are_stepped_one_by_one():
    steps = _steps_of_batches_every(step_seconds=0.05, every=0.2, batches=5)
    assert steps == [1, 1, 1, 1, 1]
