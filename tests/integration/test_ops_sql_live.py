"""Ops read the embedded engine while the worker runs: a standard client (clickhouse-connect over
HTTP, from this process, not the worker's) through the worker's read-only ClickHouse HTTP
interface, and `kpiflow sql`, through the worker and after it stopped."""

from __future__ import annotations

import json
from collections import Counter

import clickhouse_connect
import pytest
from clickhouse_connect.driver.exceptions import DatabaseError

from kpiflow.projections.store import gateway_file
from tests.integration.test_projections_live import _cli, noisy_quarter, publish

pytestmark = pytest.mark.integration

DICTIONARY_VIEWS = (
    "raw_events", "kpi_values", "kpi_values_all_versions", "kpi_pacing", "custom_kpis",
    "plan_targets_current", "plan_changes_current", "dead_letters", "achievements",
)  # fmt: skip


def test_a_standard_client_reads_the_worker_s_engine(pipeline):
    messages = [m for m in noisy_quarter(seed=3) if isinstance(m, dict)][:3000]
    worker = pipeline.start_worker()
    worker.wait_ready()
    publish(pipeline, messages)
    pipeline.wait_caught_up()
    data_dir = pipeline.settings().pipeline.data_dir
    info = json.loads(gateway_file(data_dir).read_text())
    assert info["sql_port"] == int(pipeline.env["KPIFLOW_WORKER_SQL_PORT"])
    client = clickhouse_connect.get_client(
        host="127.0.0.1", port=info["sql_port"], username="kpiflow", password=info["token"],
        database="kpiflow",
    )  # fmt: skip
    expected = Counter(
        m["event_type"] for m in {m["event_id"].lower(): m for m in messages}.values()
    )
    # a query with parameters, the data dictionary's views, Arrow
    found = client.query(
        "SELECT count() FROM raw_events WHERE event_type = {t:String}",
        parameters={"t": "deal.opened"},
    ).result_rows
    accepted = int(client.query("SELECT count() FROM raw_events").result_rows[0][0])
    assert 0 < found[0][0] <= expected["deal.opened"] and accepted > 2500
    for view in DICTIONARY_VIEWS:
        client.query(f"SELECT * FROM {view} LIMIT 1")  # noqa: S608 (names from the list above)
    kpis = client.query_arrow(
        "SELECT kpi, sum(value) AS total FROM kpi_values WHERE grain = 'quarter' "
        "AND dimension_kind = 'all' GROUP BY kpi ORDER BY kpi"
    )
    assert "activities" in kpis.column("kpi").to_pylist()
    # errors as ClickHouse says them: an unknown table, a write, a wrong password
    with pytest.raises(DatabaseError, match="UNKNOWN_TABLE|Code: 60"):
        client.query("SELECT * FROM no_such_table")
    with pytest.raises(DatabaseError, match="readonly|READONLY|Code: 164"):
        client.command("INSERT INTO kpi_rows (kpi) VALUES ('x')")
    # what a hostile or careless client tries: files and URLs through table functions, settings
    # in the URL, another database, an empty query
    with pytest.raises(DatabaseError, match="READONLY|Code: 164"):
        client.query("SELECT * FROM file('/etc/passwd', 'LineAsString')")
    with pytest.raises(DatabaseError, match="READONLY|Code: 164"):
        client.query("SELECT * FROM url('http://127.0.0.1:1/', 'LineAsString')")
    import urllib.error
    import urllib.request

    def raw(query: str) -> tuple[int, str]:
        request = urllib.request.Request(
            f"http://127.0.0.1:{info['sql_port']}/?{query}",
            headers={"X-ClickHouse-User": "kpiflow", "X-ClickHouse-Key": info["token"]},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 (loopback)
                return answer.status, answer.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    assert raw("database=system&query=SELECT%201")[0] == 500  # only the kpiflow database
    assert "UNKNOWN_DATABASE" in raw("database=system&query=SELECT%201")[1]
    assert raw("query=")[0] == 400
    # a setting in the URL is not applied (readonly stays 1), the query still answers
    assert raw("readonly=0&query=SELECT%20getSetting('readonly')") == (200, "1\n")
    with pytest.raises(DatabaseError, match="516|Authentication"):
        clickhouse_connect.get_client(
            host="127.0.0.1", port=info["sql_port"], username="kpiflow", password="wrong"
        ).query("SELECT 1")

    # kpiflow sql through the worker, in every format
    done = _cli(pipeline, "sql", "SELECT event_type, count() AS n FROM raw_events "
                "GROUP BY event_type ORDER BY event_type", "--format", "jsonl")  # fmt: skip
    assert done.returncode == 0, done.stderr
    by_type = {r["event_type"]: r["n"] for r in map(json.loads, done.stdout.splitlines())}
    assert sum(by_type.values()) == accepted
    csv_out = _cli(pipeline, "sql", "SELECT 1 AS a, 'x,y' AS b", "-f", "csv").stdout
    assert csv_out == 'a,b\n1,"x,y"\n'
    shown = _cli(pipeline, "sql", "--endpoint")
    assert f"port {info['sql_port']}" in shown.stdout and "Read-only" in shown.stdout
    refused = _cli(pipeline, "sql", "DROP TABLE kpi_rows")
    assert refused.returncode == 2 and "Traceback" not in refused.stderr

    # after the worker stopped: directly on the data path, still read-only
    worker.stop()
    after = _cli(pipeline, "sql", "SELECT count() AS n FROM raw_events", "-f", "json")
    assert after.returncode == 0, after.stderr
    assert json.loads(after.stdout) == [{"n": accepted}]
    write = _cli(pipeline, "sql", "INSERT INTO promotions (note) VALUES ('x')")
    assert write.returncode == 2 and "readonly" in write.stderr.lower()
