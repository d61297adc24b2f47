"""`kpiflow dashboards build`: sorted, stable JSON, byte-identical across runs; the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kpiflow.dashboards.build import build_all, write
from kpiflow.dashboards.defaults import Options, to_text
from kpiflow.dashboards.wallboard import wallboard_uid
from kpiflow.projections.writer import KPI_ROW_COLUMNS

ROOT = Path(__file__).resolve().parents[2]


def _run_build(out: Path, seed: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "PYTHONHASHSEED": seed,
        "KPIFLOW_DATA_DIR": str(out.parent / "data"),
        "KPIFLOW_ENV_FILE": str(out.parent / "no.env"),
    }
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "kpiflow.cli",
            "dashboards",
            "build",
            "--out",
            str(out),
            "--teams",
            "south,north,west's,north",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_two_runs_write_byte_identical_files(tmp_path):
    first, second = tmp_path / "one", tmp_path / "two"
    for out, seed in ((first, "1"), (second, "2")):
        done = _run_build(out, seed)
        assert done.returncode == 0, done.stderr
    names = sorted(p.name for p in first.iterdir())
    assert names == sorted(p.name for p in second.iterdir())
    assert len(names) == 7  # 3 wallboards + team picker + activity, pipeline, growth
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    # the coaching board: its own folder beside the shared ones, byte-identical too
    coaching = [p.name for p in (tmp_path / "one-coaching").iterdir()]
    assert coaching == ["kpiflow-coaching.json"]
    assert (tmp_path / "one-coaching" / coaching[0]).read_bytes() == (
        tmp_path / "two-coaching" / coaching[0]
    ).read_bytes()


def test_json_is_sorted_and_indented(tmp_path):
    boards = build_all(Options(), ["north"])
    for path in write(boards, tmp_path):
        text = path.read_text(encoding="utf-8")
        assert (
            text
            == json.dumps(json.loads(text), sort_keys=True, indent=2, ensure_ascii=False) + "\n"
        )


def test_rewrite_removes_stale_team_boards_only(tmp_path):
    (tmp_path / "other.json").write_text("{}")
    write(build_all(Options(), ["north", "south"]), tmp_path)
    write(build_all(Options(), ["north"]), tmp_path)
    names = {p.name for p in tmp_path.iterdir()}
    assert f"{wallboard_uid('south')}.json" not in names
    assert f"{wallboard_uid('north')}.json" in names and "other.json" in names


def test_uids_are_stable_and_short():
    assert wallboard_uid("north") == wallboard_uid("north")
    assert wallboard_uid("North") != wallboard_uid("north")
    long = wallboard_uid("x" * 500)
    assert len(long) <= 40 and long.startswith("kpiflow-wb-")
    assert to_text({"b": 1, "a": [2]}) == '{\n  "a": [\n    2\n  ],\n  "b": 1\n}\n'


@pytest.fixture
def cli(monkeypatch, tmp_path):
    from kpiflow.settings import get_settings

    monkeypatch.setenv("KPIFLOW_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("KPIFLOW_GRAFANA_DATASOURCE_UID", "ch-test")
    get_settings.cache_clear()
    from kpiflow.cli import app

    yield lambda *args: CliRunner().invoke(app, list(args))
    get_settings.cache_clear()


def test_cli_build_with_provisioning(cli, tmp_path):
    result = cli(
        "dashboards",
        "build",
        "--out",
        str(tmp_path / "out"),
        "--teams",
        "north",
        "--provisioning",
        str(tmp_path / "prov"),
    )
    assert result.exit_code == 0, result.output
    board = json.loads((tmp_path / "out" / "kpiflow-activity.json").read_text())
    assert board["panels"][0]["datasource"]["uid"] == "${datasource}"
    (variable,) = [v for v in board["templating"]["list"] if v["name"] == "datasource"]
    assert variable["current"]["value"] == "ch-test"
    datasource = (tmp_path / "prov" / "datasources" / "clickhouse.yaml").read_text()
    assert "uid: ch-test" in datasource


def test_cli_refuses_an_insight_leaderboard(cli, tmp_path):
    result = cli(
        "dashboards",
        "build",
        "--out",
        str(tmp_path / "out"),
        "--teams",
        "north",
        "--leaderboard",
        "close_rate/month",
    )
    assert result.exit_code != 0
    assert "insight KPI" in str(result.exception)
    assert not (tmp_path / "out").exists()


def test_cli_build_reads_teams_from_clickhouse(cli, tmp_path, monkeypatch, chdb_dsn):
    import uuid
    from datetime import date

    from kpiflow.projections.migrate import apply_migrations
    from kpiflow.projections.store import ClickHouseStore

    database = f"dash_{uuid.uuid4().hex[:12]}"
    store = ClickHouseStore(chdb_dsn, database)
    try:
        apply_migrations(store)
        store.insert(
            "kpi_rows",
            [[1, "activities", "day", date(2026, 1, 5), "team", t, 1.0, 1, 0] for t in ("b", "a")],
            KPI_ROW_COLUMNS,
        )
        store.insert("live_version", [["live", 1, 1]], ["name", "version", "revision"])
        monkeypatch.setenv("KPIFLOW_CLICKHOUSE_DSN", chdb_dsn)
        monkeypatch.setenv("KPIFLOW_CLICKHOUSE_DATABASE", database)
        from kpiflow.settings import get_settings

        get_settings.cache_clear()
        result = cli("dashboards", "build", "--out", str(tmp_path / "out"))
        assert result.exit_code == 0, result.output
        names = {p.name for p in (tmp_path / "out").iterdir()}
        assert {f"{wallboard_uid('a')}.json", f"{wallboard_uid('b')}.json"} <= names
    finally:
        store.command("DROP DATABASE IF EXISTS {db}")
        store.close()


@pytest.mark.parametrize("command", ["build", "push", "check"])
def test_help(cli, command):
    result = cli("dashboards", command, "--help")
    assert result.exit_code == 0
    assert "Usage" in result.output
