"""Blocking ClickHouse calls from async code: one dedicated thread per client, calls in order.

`run_retrying` retries only what can pass by itself (a lost connection, a timeout, a full disk,
too many parts, memory pressure ...), with exponential backoff and a log line per attempt. Any
other error (a bad statement, a value the column cannot hold, a bug) is raised at once, so the
worker exits without acknowledging the batch instead of retrying it forever.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from clickhouse_connect.driver.exceptions import DatabaseError, OperationalError
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, wait_exponential

T = TypeVar("T")
log = logging.getLogger("kpiflow.clickhouse")

# ClickHouse error codes that pass by themselves (src/Common/ErrorCodes.cpp).
TRANSIENT_CODES = frozenset(
    {
        74,  # CANNOT_READ_FROM_FILE_DESCRIPTOR
        75,  # CANNOT_WRITE_TO_FILE_DESCRIPTOR (a full disk on write)
        159,  # TIMEOUT_EXCEEDED
        160,  # TOO_SLOW
        202,  # TOO_MANY_SIMULTANEOUS_QUERIES
        203,  # NO_FREE_CONNECTION
        209,  # SOCKET_TIMEOUT
        210,  # NETWORK_ERROR
        241,  # MEMORY_LIMIT_EXCEEDED
        242,  # TABLE_IS_READ_ONLY (a replica that lost its keeper session)
        243,  # NOT_ENOUGH_SPACE
        252,  # TOO_MANY_PARTS
        279,  # ALL_CONNECTION_TRIES_FAILED
        285,  # TOO_FEW_LIVE_REPLICAS
        319,  # UNKNOWN_STATUS_OF_INSERT
        425,  # SYSTEM_ERROR (an errno such as ENOSPC or EIO)
        439,  # CANNOT_SCHEDULE_TASK
        999,  # KEEPER_EXCEPTION
        1000,  # POCO_EXCEPTION (I/O below ClickHouse)
    }
)
_CODE = re.compile(r"\bCode: (\d+)\b")
_SPACE = ("no space left", "not enough space", "cannot reserve")


def is_transient(exc: BaseException) -> bool:
    """Whether retrying the same call later can succeed."""
    if isinstance(exc, OperationalError | OSError):  # the connection, the disk, a timeout
        return True
    text = str(exc)
    if any(s in text.lower() for s in _SPACE):
        return True
    if isinstance(exc, DatabaseError):
        code = _CODE.search(text)
        return code is not None and int(code.group(1)) in TRANSIENT_CODES
    return False


class ClickHouseIO:
    def __init__(self, store) -> None:
        self.store = store
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="clickhouse")

    def call(self, fn: Callable[..., T], *args: Any) -> T:
        """The same from a plain thread (the ClickHouse HTTP interface): wait for the result."""
        return self._pool.submit(fn, *args).result()

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    async def run_retrying(
        self, what: str, fn: Callable[..., T], *args: Any, max_delay: float = 10.0
    ) -> T:
        """Retry transient failures until the call succeeds (a batch is never acknowledged and
        skipped); raise anything else at once."""

        def before_sleep(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            delay = state.next_action.sleep if state.next_action else 0.0
            log.warning(
                "%s failed (attempt %s), retrying in %.1fs: %s",
                what,
                state.attempt_number,
                delay,
                exc,
            )

        retrying = AsyncRetrying(
            retry=retry_if_exception(is_transient),
            wait=wait_exponential(multiplier=0.2, min=0.2, max=max_delay),
            before_sleep=before_sleep,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await self.run(fn, *args)
        raise AssertionError("unreachable: tenacity either returns or raises")

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True)
