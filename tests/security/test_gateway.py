"""The worker's query gateway (embedded mode): loopback only, token required, identifiers
checked; and a hostile field sent through Kafka ends up as data, end to end."""

from __future__ import annotations

import json
import stat
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from kpiflow.projections.report import build_query, fetch
from kpiflow.projections.store import gateway_file
from kpiflow.streams.producer import EventPublisher
from tests.integration.conftest import read_topic

pytestmark = pytest.mark.integration

DROP = "x'); DROP TABLE raw_event_log; --"


def post(url: str, body: dict, token: str | None) -> int:
    headers = {"Content-Type": "application/json"} | ({"X-Kpiflow-Token": token} if token else {})
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (loopback)
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def listening_addresses(port: int) -> set[str]:
    """Local addresses (hex, as in /proc/net/tcp*) of sockets listening on `port`."""
    out = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if int(hex_port, 16) == port and state == "0A":
                out.add(address)
    return out


def test_gateway_is_loopback_only_needs_its_token_and_keeps_hostile_fields_as_data(pipeline):
    s = pipeline.settings()
    worker = pipeline.start_worker()
    worker.wait_ready()
    info_path = gateway_file(Path(pipeline.env["KPIFLOW_DATA_DIR"]))
    assert stat.S_IMODE(info_path.stat().st_mode) == 0o600
    info = json.loads(info_path.read_text())
    assert info["url"].startswith("http://127.0.0.1:")
    port = int(pipeline.env["KPIFLOW_WORKER_WEB_PORT"])
    assert listening_addresses(port) == {"0100007F"}  # 127.0.0.1, not 0.0.0.0
    query = {"sql": "SELECT count() FROM {db}.raw_event_log"}
    for path in ("/kpiflow/query", "/kpiflow/arrow", "/kpiflow/op"):
        assert post(info["url"] + path, query, None) == 403
        assert post(info["url"] + path, query, "not-the-token") == 403
    event = {
        "event_id": "6f1c2a8e-2b7e-4a52-9d55-1d1f0c3e9a10", "event_type": "activity.logged",
        "schema_version": 1, "occurred_at": "2026-10-05T09:00:00Z", "source": "test",
        "rep_id": DROP, "team_id": "team-a", "activity_type": "call",
    }  # fmt: skip
    publisher = EventPublisher(s)
    publisher.send_valid(event, DROP)
    publisher.flush()
    pipeline.wait_caught_up(expected_raw=1)
    gateway = pipeline.gateway()
    assert gateway.scalar("SELECT rep_id FROM {db}.raw_events") == DROP
    rows = fetch(gateway, build_query("activities", "day", "rep", None, None))
    assert [r["dimension"] for r in rows] == [DROP]
    assert read_topic(s, s.kafka.dlq_topic) == []


def answer(url: str, body: dict, token: str) -> tuple[int, str]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "X-Kpiflow-Token": token},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (loopback)
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


# With the token, SQL sent to the gateway used to run anything: DDL, file() reading system
# files, INSERT INTO FUNCTION file() writing them. Each must be refused; reads still work.
REFUSED = [
    "DROP TABLE {db}.raw_event_log",
    "ALTER TABLE {db}.kpi_rows DELETE WHERE 1",
    "INSERT INTO {db}.live_version (name, version, revision) VALUES ('live', 9, 9)",
    "CREATE TABLE {db}.pwn (a String) ENGINE = Memory",
    "SELECT * FROM file('/etc/passwd', 'LineAsString')",
    "INSERT INTO FUNCTION file('{tmp}/written.txt', 'LineAsString') SELECT 'pwned'",
    "SELECT * FROM url('http://127.0.0.1:9/', 'LineAsString')",
    "SELECT * FROM remote('127.0.0.1', system.one)",
    "SELECT * FROM format(JSONEachRow, 'a String', '{{\"a\":\"x\"}}')",
    "SELECT 1 SETTINGS readonly = 0",
    "SET readonly = 0",
]


def test_the_gateway_runs_read_only_sql_and_typed_operations_only(pipeline, tmp_path):
    worker = pipeline.start_worker()
    worker.wait_ready()
    info = json.loads(gateway_file(Path(pipeline.env["KPIFLOW_DATA_DIR"])).read_text())
    gateway = pipeline.gateway()
    for template in REFUSED:
        sql = template.replace("{tmp}", str(tmp_path))
        for path in ("/kpiflow/query", "/kpiflow/arrow"):
            code, text = answer(info["url"] + path, {"sql": sql}, info["token"])
            assert code == 400, (path, sql, code, text)
            if not sql.startswith("SET"):  # SET is not even a query there
                assert "READONLY" in text, (sql, text)
    assert not (tmp_path / "written.txt").exists()
    assert gateway.scalar("SELECT count() FROM {db}.raw_event_log") == 0  # the table is still there
    for path in ("/kpiflow/command", "/kpiflow/insert"):  # arbitrary SQL that writes: gone
        code, _ = answer(info["url"] + path, {"sql": "SELECT 1"}, info["token"])
        assert code in (404, 405), (path, code)
    code, text = answer(
        info["url"] + "/kpiflow/op", {"op": "drop_everything", "args": {}}, info["token"]
    )
    assert code == 400 and "no operation" in text
    code, text = answer(
        info["url"] + "/kpiflow/op",
        {"op": "promote", "args": {"version": "1; DROP"}},
        info["token"],
    )
    assert code == 400 and "positive integer" in text
    code, text = answer(
        info["url"] + "/kpiflow/op", {"op": "promote", "args": {"version": 1}}, info["token"]
    )
    assert code == 200, text  # version 1 is built: a typed write the CLI needs works
    assert json.loads(text) == {"previous": 1}
