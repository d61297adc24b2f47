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
    for path in ("/kpiflow/query", "/kpiflow/arrow", "/kpiflow/command", "/kpiflow/insert"):
        assert post(info["url"] + path, query, None) == 403
        assert post(info["url"] + path, query, "not-the-token") == 403
    hostile_table = {"table": "raw_event_log; DROP TABLE kpi_rows", "rows": [], "columns": []}
    assert post(info["url"] + "/kpiflow/insert", hostile_table, info["token"]) == 400
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
