"""push/check against a stand-in for Grafana's HTTP API (a tiny local server implementing the
endpoints used, with Grafana's status codes). No real Grafana can run here; this checks the
requests kpiflow sends and how it reads the answers, not Grafana itself."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from kpiflow.dashboards.build import build_all
from kpiflow.dashboards.defaults import FOLDER_UID, Options
from kpiflow.dashboards.push import Grafana, check, push
from kpiflow.errors import ConfigError, RuntimeServiceError

TOKEN = "glsa_test_token"


class FakeGrafana:
    def __init__(self) -> None:
        self.folders: dict[str, dict] = {}
        self.permissions: dict[str, list] = {}
        self.dashboards: dict[str, dict] = {}
        self.saves: list[dict] = []
        self.provisioned: set[str] = set()
        self.datasources = {
            "kpiflow-clickhouse": {"status": "OK", "message": "Data source is working"}
        }
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _answer(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _authorised(self) -> bool:
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    self._answer(401, {"message": "Unauthorized"})
                    return False
                return True

            def do_GET(self) -> None:  # noqa: N802
                if not self._authorised():
                    return
                parts = self.path.strip("/").split("/")
                if parts[:2] == ["api", "folders"] and len(parts) == 3:
                    folder = fake.folders.get(parts[2])
                    return (
                        self._answer(200, folder)
                        if folder
                        else self._answer(404, {"message": "folder not found"})
                    )
                if parts[:3] == ["api", "dashboards", "uid"]:
                    board = fake.dashboards.get(parts[3])
                    if board is None:
                        return self._answer(404, {"message": "Dashboard not found"})
                    return self._answer(
                        200, {"dashboard": board, "meta": {"folderUid": FOLDER_UID}}
                    )
                if parts[:3] == ["api", "datasources", "uid"]:
                    health = fake.datasources.get(parts[3])
                    if health is None:
                        return self._answer(404, {"message": "Data source not found"})
                    if len(parts) == 5 and parts[4] == "health":
                        return self._answer(200 if health["status"] == "OK" else 400, health)
                    return self._answer(
                        200, {"uid": parts[3], "type": "grafana-clickhouse-datasource"}
                    )
                self._answer(404, {"message": "Not found"})

            def do_POST(self) -> None:  # noqa: N802
                if not self._authorised():
                    return
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if self.path.startswith("/api/folders/") and self.path.endswith("/permissions"):
                    fake.permissions[self.path.split("/")[3]] = body["items"]
                    return self._answer(200, {"message": "Folder permissions updated"})
                if self.path == "/api/folders":
                    fake.folders[body["uid"]] = {"uid": body["uid"], "title": body["title"]}
                    return self._answer(200, fake.folders[body["uid"]])
                if self.path == "/api/dashboards/db":
                    uid = body["dashboard"]["uid"]
                    if uid in fake.provisioned:
                        return self._answer(400, {"message": "Cannot save provisioned dashboard"})
                    fake.saves.append(body)
                    fake.dashboards[uid] = {**body["dashboard"], "id": 7, "version": 1}
                    return self._answer(
                        200, {"status": "success", "uid": uid, "url": f"/d/{uid}/x"}
                    )
                self._answer(404, {"message": "Not found"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeGrafana:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake():
    with FakeGrafana() as server:
        yield server


@pytest.fixture
def boards():
    return build_all(Options(), ["north"])


def test_push_creates_the_folder_and_every_dashboard(fake, boards):
    urls = push(Grafana(fake.url, TOKEN), boards)
    assert fake.folders == {
        FOLDER_UID: {"uid": FOLDER_UID, "title": "KPI Flow"},
        "kpiflow-coaching": {"uid": "kpiflow-coaching", "title": "KPI Flow coaching"},
    }
    # managers only: no Viewer (the office TV) may open the coaching folder
    assert fake.permissions == {
        "kpiflow-coaching": [
            {"role": "Editor", "permission": 1},
            {"role": "Admin", "permission": 4},
        ]
    }
    assert sorted(fake.dashboards) == sorted(b.uid for b in boards)
    assert all(
        s["overwrite"] is True
        and s["folderUid"]
        == ("kpiflow-coaching" if s["dashboard"]["uid"] == "kpiflow-coaching" else FOLDER_UID)
        and s["dashboard"]["id"] is None
        for s in fake.saves
    )
    assert urls == [f"/d/{b.uid}/x" for b in boards]
    push(Grafana(fake.url, TOKEN), boards)  # again: overwrites, folder kept
    assert len(fake.saves) == 2 * len(boards)


def test_check_reports_present_stale_and_missing(fake, boards):
    push(Grafana(fake.url, TOKEN), boards[:-1])
    stale = boards[0].uid
    fake.dashboards[stale]["panels"][0]["targets"][0]["rawSql"] = "SELECT 1"
    findings = {f.item: f for f in check(Grafana(fake.url, TOKEN), boards, "kpiflow-clickhouse")}
    assert findings["data source kpiflow-clickhouse"].ok
    assert (
        not findings[f"dashboard {stale}"].ok and "differs" in findings[f"dashboard {stale}"].detail
    )
    assert findings[f"dashboard {boards[1].uid}"].ok
    assert (
        not findings[f"dashboard {boards[-1].uid}"].ok
        and "missing" in findings[f"dashboard {boards[-1].uid}"].detail
    )


def test_check_reports_an_unhealthy_or_missing_datasource(fake, boards):
    fake.datasources["kpiflow-clickhouse"] = {
        "status": "ERROR",
        "message": "dial tcp: connection refused",
    }
    (finding,) = [
        f
        for f in check(Grafana(fake.url, TOKEN), boards, "kpiflow-clickhouse")
        if f.item.startswith("data source")
    ]
    assert not finding.ok and "health" in finding.detail
    (finding,) = [
        f
        for f in check(Grafana(fake.url, TOKEN), boards, "nope")
        if f.item.startswith("data source")
    ]
    assert not finding.ok and "not found" in finding.detail


def test_unreachable_grafana_is_a_clear_error(boards):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again when the block ends: nothing listens there
    with pytest.raises(
        RuntimeServiceError, match="cannot reach Grafana at http://127.0.0.1:.*KPIFLOW_GRAFANA_URL"
    ):
        check(Grafana(f"http://127.0.0.1:{port}", TOKEN, timeout=2), boards, "kpiflow-clickhouse")


def test_bad_token_and_no_token(fake, boards):
    with pytest.raises(ConfigError, match="KPIFLOW_GRAFANA_TOKEN"):
        push(Grafana(fake.url, "wrong"), boards)
    with pytest.raises(ConfigError, match="needs a token"):
        push(Grafana(fake.url, None), boards)
    with pytest.raises(ConfigError, match="http://"):
        Grafana("localhost:3000", TOKEN).api()


def test_provisioned_dashboards_cannot_be_pushed(fake, boards):
    fake.provisioned.add(boards[0].uid)
    with pytest.raises(RuntimeServiceError, match="provisioned from files"):
        push(Grafana(fake.url, TOKEN), boards)


def test_cli_check_exits_1_when_something_is_missing(fake, monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from kpiflow.cli import app
    from kpiflow.settings import get_settings

    monkeypatch.setenv("KPIFLOW_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("KPIFLOW_GRAFANA_URL", fake.url)
    monkeypatch.setenv("KPIFLOW_GRAFANA_TOKEN", TOKEN)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        result = runner.invoke(app, ["dashboards", "check", "--teams", "north"])
        assert result.exit_code == 1, result.output
        result = runner.invoke(app, ["dashboards", "push", "--teams", "north"])
        assert result.exit_code == 0, result.output
        assert f"pushed {fake.url}/d/kpiflow-activity/x" in result.output
        result = runner.invoke(app, ["dashboards", "check", "--teams", "north"])
        assert result.exit_code == 0, result.output
    finally:
        get_settings.cache_clear()
