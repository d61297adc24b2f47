"""Triage where it runs: on the event loop, or in a process of its own (the default).

The worker's event loop also runs Faust's per-message path, and one Python process runs one
thread of Python at a time. Triage (the Limits, the pydantic models, the terminal-stage rule)
and the raw-log rows built from it are pure and need nothing of the worker but the terminal
stages known so far, so a child process can do them on the other core while the loop gathers the
next batch: the loop sends the batch's raw messages and gets back the rows as Arrow, the dead
letters with their reasons and the counts (`Triaged`). The child keeps the terminal stages
itself: it is handed the raw log's index once, then learns each batch's as it triages it. That
is the order the ingest applies them in, and a batch that fails ends the worker (and with it the
child), so nothing the child learned can outlive a batch that was not written.

The child ignores SIGINT and SIGTERM (a stop is the worker's to handle: it finishes or abandons
the batch, then closes the pipe) and ends when its pipe closes, also when the worker was killed.
A child that dies fails the batch it was triaging: the worker exits without acknowledging it,
and the batch is read again at the next start.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import signal
import socket
import subprocess
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from typing import Any

from kpiflow.events.rates import ExchangeRates
from kpiflow.streams.coordinates import Coordinates
from kpiflow.streams.triage import Incoming, Rejected, TerminalIndex, Triaged, triage_rows

log = logging.getLogger("kpiflow.ingest")


class TriageProcessDied(RuntimeError):
    """The triage child ended or answered nonsense; the batch it had is not acknowledged."""


class LocalTriage:
    """Triage on the calling thread (KPIFLOW_TRIAGE_PROCESS=false), and the child's own: it
    carries each batch's terminal stages to the next."""

    def __init__(self, currency: str, rates: ExchangeRates | None) -> None:
        self.currency = currency
        self.rates = rates
        self.terminals: dict = {}

    def load_now(self, terminals: TerminalIndex) -> None:
        self.terminals = dict(terminals)

    def triage_now(self, batch: Sequence[Incoming]) -> Triaged:
        triaged, new_terminals = triage_rows(batch, self.currency, self.terminals, self.rates)
        self.terminals.update(new_terminals)
        return triaged

    async def load(self, terminals: TerminalIndex) -> None:
        self.load_now(terminals)

    async def triage(self, batch: Sequence[Incoming]) -> Triaged:
        return self.triage_now(batch)

    def close(self) -> None:
        pass


def _wire(batch: Sequence[Incoming]) -> list[tuple]:
    return [
        (m.value, m.where.topic, m.where.partition, m.where.offset, m.received_ms) for m in batch
    ]


def _unwire(wire: list[tuple]) -> list[Incoming]:
    return [Incoming(v, Coordinates(t, p, o), ms) for v, t, p, o, ms in wire]


def _table_bytes(table) -> bytes | None:
    if table is None:
        return None
    import pyarrow as pa

    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def _table_of(data: bytes | None):
    if data is None:
        return None
    import pyarrow as pa

    return pa.ipc.open_stream(data).read_all()


class _WithoutPandas:
    """An import finder that says pandas is not installed. pyarrow looks for pandas the first
    time it makes an array from Python objects and, finding it, imports all of it (about 40 MB
    of the child's memory) though triage never makes a DataFrame; told it is missing, pyarrow
    goes on without it."""

    @staticmethod
    def find_spec(name: str, path: object = None, target: object = None) -> None:
        if name == "pandas" or name.startswith("pandas."):
            raise ModuleNotFoundError("the triage process does without pandas", name=name)
        return None


def serve(conn) -> None:
    """The child's loop: ("setup", (currency, rates)) and ("terminals", index) -> ("ok",);
    ("triage", batch) -> ("ok", rows, rejected, duplicates, ranges, flags); an error ->
    ("error", text). Ends when the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    sys.meta_path.insert(0, _WithoutPandas())  # type: ignore[arg-type]
    import pyarrow as pa
    import pyarrow.ipc  # noqa: F401 - now, not in the first batch's time

    pa.set_memory_pool(pa.system_memory_pool())

    local = LocalTriage("", None)
    while True:
        try:
            kind, body = conn.recv()
        except (EOFError, OSError):
            return
        try:
            if kind == "setup":
                local = LocalTriage(*body)
                reply: tuple = ("ok",)
            elif kind == "terminals":
                local.load_now(body)
                reply = ("ok",)
            else:
                t = local.triage_now(_unwire(body))
                rejected = [
                    (r.value, r.reason, r.where.topic, r.where.partition, r.where.offset)
                    for r in t.rejected
                ]
                reply = (
                    "ok",
                    _table_bytes(t.rows),
                    rejected,
                    t.duplicates,
                    t.ranges,
                    t.rejected_flags,
                )
        except Exception as exc:  # noqa: BLE001 - to the worker, which fails the batch
            reply = ("error", f"{type(exc).__name__}: {exc}")
        try:
            conn.send(reply)
        except (EOFError, OSError):
            return


class TriageProcess:
    """Triage in a child process; `triage` awaits its answer without holding the event loop.

    The child is `python -m kpiflow.streams.triage_process FD`, talking over a socket pair:
    a fresh interpreter (never a fork of a worker that has threads) that does not import the
    worker's main module again, as multiprocessing's spawn would."""

    def __init__(self, currency: str, rates: ExchangeRates | None) -> None:
        ours, theirs = socket.socketpair()
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "kpiflow.streams.triage_process", str(theirs.fileno())],
            pass_fds=(theirs.fileno(),),
            stdin=subprocess.DEVNULL,
        )
        theirs.close()
        self._conn = Connection(ours.detach())
        # one thread does the pipe's blocking writes and reads (they release the GIL)
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="triage-pipe")
        self._closed = False
        self._setup = ("setup", (currency, rates))
        atexit.register(self.close)

    @property
    def pid(self) -> int:
        return self._proc.pid

    def _roundtrip(self, message: tuple) -> tuple:
        try:
            if self._setup is not None:
                setup, self._setup = self._setup, None
                self._roundtrip(setup)
            self._conn.send(message)
            reply = self._conn.recv()
        except (EOFError, OSError) as exc:
            raise TriageProcessDied(
                f"the triage process (pid {self._proc.pid}) ended "
                f"(exit code {self._proc.poll()}): {type(exc).__name__}: {exc}"
            ) from None
        if reply[0] != "ok":
            raise TriageProcessDied(f"the triage process failed: {reply[1]}")
        return reply

    async def _ask(self, message: tuple) -> tuple:
        return await asyncio.get_running_loop().run_in_executor(
            self._thread, self._roundtrip, message
        )

    async def load(self, terminals: TerminalIndex) -> None:
        await self._ask(("terminals", dict(terminals)))

    async def triage(self, batch: Sequence[Incoming]) -> Triaged:
        _, rows, rejected, duplicates, ranges, flags = await self._ask(("triage", _wire(batch)))
        return Triaged(
            _table_of(rows),
            [Rejected(v, reason, Coordinates(t, p, o)) for v, reason, t, p, o in rejected],
            duplicates,
            ranges,
            flags,
        )

    def close(self) -> None:
        """Close the pipe (the child ends at once when idle); kill it if it does not."""
        if self._closed:
            return
        self._closed = True
        self._conn.close()
        try:
            self._proc.wait(5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(5)
        self._thread.shutdown(wait=False)


def make_triage(in_child: bool, currency: str, rates: ExchangeRates | None) -> Any:
    return TriageProcess(currency, rates) if in_child else LocalTriage(currency, rates)


if __name__ == "__main__":
    serve(Connection(int(sys.argv[1])))
