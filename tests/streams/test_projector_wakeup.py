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
