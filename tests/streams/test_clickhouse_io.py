"""Retries of ClickHouse calls: transient failures are retried, anything else is raised at once."""

from __future__ import annotations

import asyncio
import errno
import subprocess
import sys

import pytest
from clickhouse_connect.driver.exceptions import DatabaseError, OperationalError

from kpiflow.streams.clickhouse_io import ClickHouseIO, is_transient

TRANSIENT = [
    OperationalError("Error HTTPConnectionPool(host='ch', port=8123): connection refused"),
    DatabaseError(
        "Code: 243. DB::Exception: Cannot reserve 1.00 MiB, not enough space. (NOT_ENOUGH_SPACE)"
    ),
    DatabaseError("Code: 252. DB::Exception: Too many parts (300). (TOO_MANY_PARTS)"),
    DatabaseError("Code: 241. DB::Exception: Memory limit exceeded. (MEMORY_LIMIT_EXCEEDED)"),
    OSError(errno.ENOSPC, "No space left on device"),
    TimeoutError("timed out"),
]
PERMANENT = [
    DatabaseError("Code: 62. DB::Exception: Syntax error. (SYNTAX_ERROR)"),
    DatabaseError("Code: 395. DB::Exception: boom. (FUNCTION_THROW_IF_VALUE_IS_NON_ZERO)"),
    UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed"),
    TypeError("unsupported operand"),
    ValueError("year 0 is out of range"),
]


@pytest.mark.parametrize("exc", TRANSIENT, ids=lambda e: type(e).__name__)
def test_transient(exc):
    assert is_transient(exc)


@pytest.mark.parametrize("exc", PERMANENT, ids=lambda e: type(e).__name__)
def test_permanent(exc):
    assert not is_transient(exc)


def _flaky(failures: list[BaseException]):
    calls = []

    def fn(value):
        calls.append(value)
        if failures:
            raise failures.pop(0)
        return value * 2

    return fn, calls


def test_transient_failures_are_retried_until_the_call_succeeds(caplog):
    fn, calls = _flaky([TRANSIENT[0], TRANSIENT[1]])
    io = ClickHouseIO(store=None)
    try:
        assert asyncio.run(io.run_retrying("insert", fn, 21, max_delay=0.3)) == 42
    finally:
        io.shutdown()
    assert calls == [21, 21, 21]
    assert [r.message.split(" (attempt")[0] for r in caplog.records] == ["insert failed"] * 2


def test_a_permanent_error_is_raised_at_the_first_attempt():
    fn, calls = _flaky([UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed")])
    io = ClickHouseIO(store=None)
    try:
        with pytest.raises(UnicodeEncodeError):
            asyncio.run(io.run_retrying("insert", fn, 21, max_delay=0.3))
    finally:
        io.shutdown()
    assert calls == [21]


FILL_DISK = """
import os, sys
import clickhouse_connect
from kpiflow.streams.clickhouse_io import is_transient
client = clickhouse_connect.get_client(dsn="chdb://" + sys.argv[1])
client.command("CREATE TABLE t (s String) ENGINE = MergeTree ORDER BY tuple()")
blob = os.urandom(1 << 20).hex()
for _ in range(100):
    try:
        client.insert("t", [[blob]] * 4, column_names=["s"])
    except Exception as exc:
        print("transient" if is_transient(exc) else "permanent", str(exc)[:200])
        break
else:
    print("never full")
"""


def test_a_full_disk_under_the_embedded_engine_is_retried(tmp_path):
    """The real engine on a 40 MB tmpfs: the insert that does not fit is judged transient."""
    mount = tmp_path / "small"
    mount.mkdir()
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=40m", "tmpfs", str(mount)], capture_output=True
    )
    if made.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {made.stderr.decode().strip()}")
    try:
        done = subprocess.run(
            [sys.executable, "-c", FILL_DISK, str(mount / "ch")],
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("transient"), done.stdout
