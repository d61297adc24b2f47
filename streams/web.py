"""The worker's loopback endpoints: the query gateway (embedded mode) and progress.

With the embedded engine the worker owns the ClickHouse data path, so `kpiflow report`,
`status`, `replay`, `promote`, ... reach ClickHouse through these endpoints. They listen on
127.0.0.1 only and need the token the worker writes (mode 0600) into the data directory. Least
privilege: SQL sent here runs read-only; the writes the CLI needs are typed operations.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

from kpiflow.errors import KpiflowError
from kpiflow.projections import operations
from kpiflow.projections.store import gateway_file

TOKEN_HEADER = "X-Kpiflow-Token"


def write_gateway_file(data_dir: Path, port: int, sql_port: int = 0) -> str:
    """The token and where the endpoints listen (`sql_port`: the read-only ClickHouse HTTP
    interface, 0 when off), for the CLI and for ops (mode 0600)."""
    token = secrets.token_urlsafe(32)
    path = gateway_file(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    info = {"url": f"http://127.0.0.1:{port}", "token": token, "sql_port": sql_port}
    tmp.write_text(json.dumps(info))
    tmp.chmod(0o600)
    tmp.replace(path)
    return token


def arrow_ipc(table) -> bytes:
    import pyarrow as pa

    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def remove_gateway_file(data_dir: Path) -> None:
    gateway_file(data_dir).unlink(missing_ok=True)


def install_views(app, io, writer, token: str, state_fn) -> None:
    """Register the endpoints on the Faust app.

    `io` is the gateway's own read-only ClickHouseIO (a client and thread of its own, so no
    request delays an ingest insert): `/kpiflow/query` and `/kpiflow/arrow` run with readonly=1,
    so no statement sent there writes, changes a setting or reaches a file, URL or other server
    through a table function. `writer` runs the typed operations of `/kpiflow/op` only."""
    from faust.web import Request, Response, View

    def allowed(request: Request) -> bool:
        return secrets.compare_digest(request.headers.get(TOKEN_HEADER, ""), token)

    async def body(request: Request) -> dict[str, Any]:
        return json.loads(await request.read())

    @app.page("/kpiflow/query")
    class Query(View):
        async def post(self, request: Request) -> Response:
            if not allowed(request):
                return self.error(403, "bad or missing token")
            req = await body(request)
            try:
                rows = await io.run(io.store.rows, req["sql"], req.get("params") or {})
            except Exception as exc:  # noqa: BLE001 - report ClickHouse's own message
                return self.error(400, str(exc))
            return self.bytes(
                "".join(json.dumps(r) + "\n" for r in rows).encode(),
                content_type="application/x-ndjson",
            )

    @app.page("/kpiflow/arrow")
    class Arrow(View):
        async def post(self, request: Request) -> Response:
            if not allowed(request):
                return self.error(403, "bad or missing token")
            req = await body(request)
            try:
                table = await io.run(io.store.arrow, req["sql"], req.get("params") or {})
            except Exception as exc:  # noqa: BLE001
                return self.error(400, str(exc))
            return self.bytes(arrow_ipc(table), content_type="application/vnd.apache.arrow.stream")

    @app.page("/kpiflow/op")
    class Operation(View):
        """A typed write a CLI command asks for (promote, store a plan, ...), by name."""

        async def post(self, request: Request) -> Response:
            if not allowed(request):
                return self.error(403, "bad or missing token")
            req = await body(request)
            name, args = req.get("op"), req.get("args")
            if name not in operations.OPERATIONS or not isinstance(args, dict):
                known = ", ".join(sorted(operations.OPERATIONS))
                return self.error(400, f"no operation {name!r}; known: {known}")
            try:
                result = await writer.run(operations.perform, writer.store, name, args)
            except KpiflowError as exc:
                return self.error(400, str(exc))
            except Exception as exc:  # noqa: BLE001 - report ClickHouse's own message
                return self.error(500, f"{type(exc).__name__}: {exc}")
            return self.json(result)

    @app.page("/kpiflow/state")
    class State(View):
        async def get(self, request: Request) -> Response:
            return self.json(state_fn())
