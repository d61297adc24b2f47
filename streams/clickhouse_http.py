"""A read-only ClickHouse HTTP interface on loopback, served by the worker (embedded mode).

The embedded engine can be opened by one process at a time, and the worker owns it; this lets a
standard ClickHouse client in another process read it while the worker runs:
`clickhouse_connect.get_client(host="127.0.0.1", port=KPIFLOW_WORKER_SQL_PORT,
username="kpiflow", password=<token>)`, or Grafana's ClickHouse data source in HTTP mode.

The part of ClickHouse's HTTP interface that clickhouse-connect uses: `GET /ping`; a query in the
`query` URL parameter and/or the POST body; bound parameters as `param_<name>`; the output format
from a trailing `FORMAT <name>` or `default_format` (else TabSeparated); the `database` parameter
(only the kpiflow database); the user and password as basic auth, `X-ClickHouse-User` /
`X-ClickHouse-Key` headers or `user` / `password` parameters; errors as ClickHouse sends them
(HTTP 500 or 403, `Code: N. DB::Exception: ...`, header `X-ClickHouse-Exception-Code`). Other URL
settings are not applied: every query runs with readonly=1 (no writes, no DDL, no settings
changes, no table functions that reach files, URLs or other servers). The password is the
worker's gateway token (the data directory's `worker-gateway.json`, mode 0600).
"""

from __future__ import annotations

import base64
import json
import logging
import re
import secrets
import threading
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

log = logging.getLogger("kpiflow.worker")

# URL parameters that are the interface's own, not query settings
TRANSPORT = frozenset(
    {
        "query", "database", "user", "password", "default_format", "query_id", "session_id",
        "session_timeout", "session_check", "compress", "decompress", "wait_end_of_query",
        "buffer_size", "send_progress_in_http_headers", "http_headers_progress_interval_ms",
        "enable_http_compression", "quota_key",
    }
)  # fmt: skip
_FORMAT = re.compile(r"\bFORMAT\s+([A-Za-z][A-Za-z0-9]*)\s*;?\s*$", re.IGNORECASE)
_CODE = re.compile(r"\bCode: (\d+)\b")
CONTENT_TYPES = {
    "TabSeparated": "text/tab-separated-values; charset=UTF-8",
    "JSON": "application/json; charset=UTF-8",
    "JSONEachRow": "application/x-ndjson; charset=UTF-8",
    "CSV": "text/csv; charset=UTF-8; header=absent",
    "CSVWithNames": "text/csv; charset=UTF-8; header=present",
}

# run(sql, parameters, fmt) -> the result's bytes in that format
Runner = Callable[[str, dict[str, str], str], bytes]


def split_format(sql: str, default: str | None) -> tuple[str, str]:
    """The statement without a trailing FORMAT clause, and the output format."""
    found = _FORMAT.search(sql)
    if found:
        return sql[: found.start()].rstrip(), found.group(1)
    return sql.strip().rstrip(";"), default or "TabSeparated"


class ClickHouseHttp:
    """The endpoint: a threaded HTTP server on 127.0.0.1 in the worker process."""

    def __init__(self, run: Runner, token: str, database: str, port: int, timezone: str) -> None:
        self.run, self.token, self.database, self.timezone = run, token, database, timezone
        self.server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(
            target=self.server.serve_forever, name="clickhouse-http", daemon=True
        )

    def start(self) -> None:
        self._thread.start()
        log.info("read-only ClickHouse HTTP interface on 127.0.0.1:%s", self.port)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _error(self, status: int, code: int, message: str) -> None:
                text = message if message.startswith("Code:") else f"Code: {code}. {message}"
                self._send(
                    status,
                    (text.rstrip() + "\n").encode(),
                    {
                        "Content-Type": "text/plain; charset=UTF-8",
                        "X-ClickHouse-Exception-Code": str(code),
                    },
                )

            def do_GET(self) -> None:  # noqa: N802
                self._serve(b"")

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                self._serve(self.rfile.read(length) if length else b"")

            def _credentials(self, params: dict[str, str]) -> tuple[str, str]:
                auth = self.headers.get("Authorization", "")
                if auth.startswith("Basic "):
                    try:
                        user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
                        return user, password
                    except (ValueError, UnicodeDecodeError):
                        return "", ""
                user = self.headers.get("X-ClickHouse-User") or params.get("user", "")
                return user, self.headers.get("X-ClickHouse-Key") or params.get("password", "")

            def _serve(self, body: bytes) -> None:
                url = urlsplit(self.path)
                if url.path in ("/ping", "/ping/"):
                    return self._send(200, b"Ok.\n", {"Content-Type": "text/html; charset=UTF-8"})
                if url.path not in ("", "/"):
                    return self._error(404, 0, f"There is no handle {url.path}")
                params = dict(parse_qsl(url.query, keep_blank_values=True))
                _user, password = self._credentials(params)
                if not secrets.compare_digest(password, endpoint.token):
                    return self._error(
                        403,
                        516,
                        "DB::Exception: Authentication failed: the password is the worker's "
                        "gateway token (worker-gateway.json in the data directory). "
                        "(AUTHENTICATION_FAILED)",
                    )
                database = params.get("database") or endpoint.database
                if database != endpoint.database:
                    return self._error(
                        500,
                        81,
                        f"DB::Exception: Database {database} does not exist here; the worker "
                        f"serves {endpoint.database}. (UNKNOWN_DATABASE)",
                    )
                try:
                    text = " ".join(
                        part for part in (params.get("query", ""), body.decode()) if part
                    )
                except UnicodeDecodeError:
                    return self._error(400, 27, "DB::Exception: the query is not UTF-8")
                if not text.strip():
                    return self._error(400, 62, "DB::Exception: Empty query. (SYNTAX_ERROR)")
                sql, fmt = split_format(text, params.get("default_format"))
                bound = {k[6:]: v for k, v in params.items() if k.startswith("param_")}
                query_id = params.get("query_id") or str(uuid.uuid4())
                try:
                    result = endpoint.run(sql, bound, fmt)
                except Exception as exc:  # noqa: BLE001 - ClickHouse's own message, as a server
                    message = str(exc)
                    found = _CODE.search(message)
                    start = message.find("Code:")
                    return self._error(
                        500, int(found.group(1)) if found else 1002, message[max(start, 0) :]
                    )
                summary = {"read_rows": "0", "read_bytes": "0", "written_rows": "0",
                           "written_bytes": "0", "total_rows_to_read": "0",
                           "result_rows": "0", "result_bytes": str(len(result))}  # fmt: skip
                self._send(
                    200,
                    result,
                    {
                        "Content-Type": CONTENT_TYPES.get(fmt, "application/octet-stream"),
                        "X-ClickHouse-Format": fmt,
                        "X-ClickHouse-Query-Id": query_id,
                        "X-ClickHouse-Timezone": endpoint.timezone,
                        "X-ClickHouse-Server-Display-Name": "kpiflow-worker",
                        "X-ClickHouse-Summary": json.dumps(summary, separators=(",", ":")),
                    },
                )

        return Handler
