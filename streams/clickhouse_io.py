"""Blocking ClickHouse calls from async code: one dedicated thread, calls run in order."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")
log = logging.getLogger("kpiflow.clickhouse")


class ClickHouseIO:
    def __init__(self, store) -> None:
        self.store = store
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="clickhouse")

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    async def run_retrying(
        self, what: str, fn: Callable[..., T], *args: Any, max_delay: float = 10.0
    ) -> T:
        """Retry until it succeeds: a batch is never acknowledged and skipped."""
        delay = 0.2
        attempt = 0
        while True:
            try:
                return await self.run(fn, *args)
            except Exception as exc:  # noqa: BLE001 - any ClickHouse/network failure: retry
                attempt += 1
                log.warning(
                    "%s failed (attempt %s), retrying in %.1fs: %s", what, attempt, delay, exc
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, max_delay)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True)
