"""ClickHouse access for every command: the embedded engine (chdb), a server, or the worker.

The embedded engine can be opened by one process at a time, and the worker owns it while it
runs. `open_store()` therefore tries the data path first and, when the worker holds it, talks to
the worker's loopback query endpoint instead (`streams/web.py`). All three give the same answers:
rows come back as JSON objects produced by ClickHouse itself (JSONEachRow), so types do not
depend on the path.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kpiflow.errors import RuntimeServiceError, StoreBusyError
from kpiflow.projections.sqlsafe import ident, render
from kpiflow.settings import Settings, without_url_password

log = logging.getLogger("kpiflow.clickhouse")

JSON_SETTINGS = {
    "output_format_json_quote_64bit_integers": 0,
    "output_format_json_quote_decimals": 0,
}


class ClickHouseStore:
    """clickhouse-connect on a `chdb://` path or an `http(s)://` server."""

    def __init__(
        self, dsn: str, database: str, password: str | None = None, *, read_only: bool = False
    ) -> None:
        import clickhouse_connect
        from clickhouse_connect.driver.exceptions import ClickHouseError

        self.database = ident(database)
        self.dsn = dsn
        self._password = password
        # read_only: every query runs with readonly=1 (no writes, no DDL, no settings changes, no
        # table functions such as file(), url() or remote()); the worker's gateway reads so.
        self.read_only = read_only
        self._read = {"readonly": 1} if read_only else {}
        self._insert_contexts: dict[tuple[str, tuple[str, ...]], Any] = {}
        kwargs: dict[str, Any] = {"dsn": dsn}
        if not self.embedded:
            kwargs["password"] = password or ""
            kwargs["connect_timeout"] = 10
            kwargs["send_receive_timeout"] = 300
        try:
            self.client = clickhouse_connect.get_client(**kwargs)
        except ClickHouseError as exc:
            if "Cannot lock file" in str(exc) or "EmbeddedServer" in str(exc):
                raise StoreBusyError(
                    f"the embedded ClickHouse at {dsn} is open in another process (usually "
                    "`kpiflow worker`)."
                ) from None
            raise RuntimeServiceError(
                f"cannot reach ClickHouse at {without_url_password(dsn)}: {exc}"
            ) from None
        if not read_only:
            self.client.command(f"CREATE DATABASE IF NOT EXISTS {self.database}")
        else:  # people's SQL (kpiflow sql, the HTTP interface) names tables unqualified
            self.client.database = self.database

    def sql(self, template: str) -> str:
        return render(template, self.database)

    def clone(self, *, read_only: bool = False) -> ClickHouseStore:
        """A second client on the same database, for another thread (one client per thread)."""
        return ClickHouseStore(
            self.dsn, self.database, self._password, read_only=read_only or self.read_only
        )

    @property
    def embedded(self) -> bool:
        return self.dsn.startswith("chdb:")

    def release_memory(self) -> None:
        """Embedded engine only: hand the memory its allocator keeps from finished queries back
        to the system (`SYSTEM JEMALLOC PURGE`, a few ms). A query over millions of rows leaves
        it holding hundreds of MB otherwise (300 MB after the duplicate-id scan of 5M events).
        A server's memory is its own business: nothing is sent to one."""
        if not self.embedded or self.read_only:
            return
        try:
            self.client.command("SYSTEM JEMALLOC PURGE")
        except Exception:  # noqa: BLE001 - an engine built without jemalloc: nothing to give back
            log.debug("the embedded ClickHouse did not purge its allocator", exc_info=True)

    def _writable(self) -> None:
        if self.read_only:
            raise PermissionError("this ClickHouse client is read-only")

    def rows(self, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        raw = self.client.raw_query(
            self.sql(sql),
            parameters=params or {},
            fmt="JSONEachRow",
            settings=JSON_SETTINGS | self._read,
        )
        return [json.loads(line) for line in raw.splitlines() if line]

    def scalar(self, sql: str, params: dict[str, Any] | None = None) -> Any:
        rows = self.rows(sql, params)
        return next(iter(rows[0].values())) if rows else None

    def arrow(self, sql: str, params: dict[str, Any] | None = None):
        """Columnar result, for bulk reads inside the owning process (rebuild, verify)."""
        return self.client.query_arrow(
            self.sql(sql), parameters=params or {}, settings=self._read or None
        )

    def arrow_batches(self, sql: str, params: dict[str, Any] | None = None, rows: int = 200_000):
        """A large result as a stream of Arrow tables of about `rows` rows each."""
        import pyarrow as pa

        pending, size = [], 0
        with self.client.query_arrow_stream(
            self.sql(sql), parameters=params or {}, settings=self._read or None
        ) as stream:
            for batch in stream:
                pending.append(batch)
                size += batch.num_rows
                if size >= rows:
                    yield pa.Table.from_batches(pending)
                    pending, size = [], 0
        if pending:
            yield pa.Table.from_batches(pending)

    def raw_sql(self, sql: str, params: dict[str, str], fmt: str) -> bytes:
        """Somebody's SQL as it is (unqualified names read the kpiflow database), the result in
        ClickHouse's format `fmt`; a read-only store only (the ClickHouse HTTP interface)."""
        if not self.read_only:
            raise PermissionError("raw SQL runs on a read-only client only")
        return self.client.raw_query(sql, parameters=params, fmt=fmt, settings=self._read)

    def command(self, sql: str, params: dict[str, Any] | None = None) -> None:
        self._writable()
        self._insert_contexts.clear()  # DDL may change what the cached inserts were built for
        self.client.command(self.sql(sql), parameters=params or None)

    def insert(
        self,
        table: str,
        rows: Sequence[Sequence[Any]],
        columns: Sequence[str],
        token: str | None = None,
    ) -> None:
        self._writable()
        if not rows:
            return
        ctx = self._insert_context(table, columns)
        ctx.settings = {"insert_deduplication_token": token} if token else {}
        try:
            self.client.insert(data=rows, context=ctx)
        except BaseException:
            # the table may have changed under the cached column types: describe it afresh
            self._insert_contexts.pop((table, tuple(columns)), None)
            raise

    def _insert_context(self, table: str, columns: Sequence[str]):
        """clickhouse-connect's insert context (the column types it asks the table for), kept
        per table and column list: building it runs a DESCRIBE, about 1-4 ms per insert."""
        key = (table, tuple(columns))
        ctx = self._insert_contexts.get(key)
        if ctx is None:
            ctx = self.client.create_insert_context(
                f"{self.database}.{ident(table)}", column_names=list(columns)
            )
            self._insert_contexts[key] = ctx
        return ctx

    def insert_arrow(self, table: str, data, token: str | None = None) -> None:
        """Insert a pyarrow Table (columns named as the table's); Arrow serialises it in C++,
        where `insert` serialises row by row in Python."""
        self._writable()
        if not data.num_rows:
            return
        settings = {"insert_deduplication_token": token} if token else None
        self.client.insert_arrow(f"{self.database}.{ident(table)}", data, settings=settings)

    def insert_json(
        self,
        table: str,
        rows: Sequence[Sequence[Any]],
        columns: Sequence[str],
        token: str | None = None,
    ) -> None:
        """Insert rows that came as JSON (dates and decimals as text): ClickHouse parses them."""
        self._writable()
        if not rows:
            return
        body = "".join(
            json.dumps(dict(zip(columns, row, strict=True)), default=str) + "\n" for row in rows
        )
        settings = {"insert_deduplication_token": token} if token else None
        self.client.raw_insert(
            f"{self.database}.{ident(table)}",
            list(columns),
            body.encode(),
            settings=settings,
            fmt="JSONEachRow",
        )

    def close(self) -> None:
        self.client.close()


_NO_SQL_WRITES = (
    "the worker's gateway runs read-only SQL: a write goes through a typed operation "
    "(kpiflow.projections.operations.run), or stop the worker and run the command again"
)


class GatewayStore:
    """The same interface through the worker's loopback endpoint (embedded mode only)."""

    def __init__(self, url: str, token: str, database: str) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.database = ident(database)

    def _post(self, path: str, body: dict[str, Any]) -> bytes:
        import urllib.error
        import urllib.request

        request = urllib.request.Request(
            f"{self.url}{path}",
            data=json.dumps(body, default=str).encode(),
            headers={"Content-Type": "application/json", "X-Kpiflow-Token": self.token},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=300) as response:  # noqa: S310 (loopback)
                return response.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")
            raise RuntimeServiceError(f"the worker refused the query: {detail}") from None
        except OSError as exc:
            raise RuntimeServiceError(
                f"the worker owns the embedded ClickHouse but its endpoint {self.url} does not "
                f"answer ({exc}); wait for it to finish starting, or stop it and retry"
            ) from None

    def rows(self, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        raw = self._post("/kpiflow/query", {"sql": sql, "params": params or {}})
        return [json.loads(line) for line in raw.splitlines() if line]

    def scalar(self, sql: str, params: dict[str, Any] | None = None) -> Any:
        rows = self.rows(sql, params)
        return next(iter(rows[0].values())) if rows else None

    def arrow(self, sql: str, params: dict[str, Any] | None = None):
        import pyarrow as pa

        raw = self._post("/kpiflow/arrow", {"sql": sql, "params": params or {}})
        return pa.ipc.open_stream(raw).read_all()

    def arrow_batches(self, sql: str, params: dict[str, Any] | None = None, rows: int = 200_000):
        yield self.arrow(sql, params)

    def command(self, sql: str, params: dict[str, Any] | None = None) -> None:
        raise RuntimeServiceError(_NO_SQL_WRITES)

    def insert(self, table, rows, columns, token=None) -> None:
        raise RuntimeServiceError(_NO_SQL_WRITES)

    def insert_arrow(self, table, data, token=None) -> None:
        raise RuntimeServiceError(_NO_SQL_WRITES)

    def operation(self, name: str, args: dict[str, Any]) -> dict[str, Any]:
        """Ask the worker to perform a typed write (`kpiflow.projections.operations`)."""
        return json.loads(self._post("/kpiflow/op", {"op": name, "args": args}))

    def release_memory(self) -> None:
        pass  # the worker's engine, not this process's

    def close(self) -> None:
        pass


def gateway_file(data_dir: Path) -> Path:
    return data_dir / "worker-gateway.json"


def open_store(settings: Settings, *, migrate: bool = True) -> ClickHouseStore | GatewayStore:
    """Open ClickHouse as settings say; in embedded mode fall back to the running worker."""
    dsn = settings.clickhouse_dsn
    database = settings.clickhouse.database
    password = (
        settings.clickhouse.password.get_secret_value() if settings.clickhouse.password else None
    )
    if dsn.startswith("chdb:"):
        Path(dsn.removeprefix("chdb://")).mkdir(parents=True, exist_ok=True)
        live = _live_gateway(settings.pipeline.data_dir, database)
        if live is not None:
            return live
    try:
        store = ClickHouseStore(dsn, database, password)
    except StoreBusyError:
        info_path = gateway_file(settings.pipeline.data_dir)
        if not info_path.exists():
            raise StoreBusyError(
                f"the embedded ClickHouse under {settings.pipeline.data_dir} is held by another "
                "process that is not a kpiflow worker with a query endpoint; stop that process "
                "and retry"
            ) from None
        info = json.loads(info_path.read_text())
        return GatewayStore(info["url"], info["token"], database)
    if migrate:
        from kpiflow.projections.migrate import apply_migrations

        apply_migrations(store)
    return store


def _live_gateway(data_dir: Path, database: str) -> GatewayStore | None:
    """The running worker's gateway, when its file exists and it answers."""
    import urllib.request

    path = gateway_file(data_dir)
    if not path.exists():
        return None
    info = json.loads(path.read_text())
    try:
        with urllib.request.urlopen(f"{info['url']}/kpiflow/state", timeout=2):  # noqa: S310
            return GatewayStore(info["url"], info["token"], database)
    except OSError:
        return None  # stale file of a worker that is gone
