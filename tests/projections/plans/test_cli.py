"""`kpiflow plan ...` and `kpiflow flow` on a standalone typer app (register(app) of the module)."""

from __future__ import annotations

from datetime import date

import pytest
import typer
import yaml
from typer.testing import CliRunner

from kpiflow.commands import plan as plan_commands
from kpiflow.projections.writer import KPI_ROW_COLUMNS


@pytest.fixture
def cli():
    app = typer.Typer()
    plan_commands.register(app)
    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args))


@pytest.fixture
def settings_on(plan_store, monkeypatch):
    """Point the CLI's settings at the test's database of the session's embedded ClickHouse."""
    from kpiflow.settings import get_settings

    monkeypatch.setenv("KPIFLOW_CLICKHOUSE_DSN", plan_store.dsn)
    monkeypatch.setenv("KPIFLOW_CLICKHOUSE_DATABASE", plan_store.database)
    monkeypatch.setenv("KPIFLOW_TIMEZONE", "UTC")
    monkeypatch.delenv("KPIFLOW_PLAN_FILE", raising=False)
    monkeypatch.delenv("KPIFLOW_TEAM", raising=False)
    get_settings.cache_clear()
    yield plan_store
    get_settings.cache_clear()


def test_check_a_good_plan(cli, write_plan, good_plan_text):
    path = write_plan(good_plan_text)
    result = cli("plan", "check", str(path))
    assert result.exit_code == 0, result.output
    assert f"{path}: OK" in result.output
    assert "Master KPI: new_business_value" in result.output
    assert "63 working days" in result.output
    at = cli("plan", "check", str(path), "--at", "2026-12-01")
    assert "Master KPI: qualified_leads" in at.output and "definition version: 2" in at.output


def test_check_a_bad_plan_names_file_line_and_field(cli, write_plan):
    path = write_plan("""
        quarter: 2026-Q4
        focus:
          - kpi: won_deals
            master: true
            targets: {team: 10}
          - kpi: close_rate
            master: true
            targets:
              team: 0.3
              rep: 0.3
          - kpi: pipelin_value
            targets: {all: 5}
        review: {rhythm: weekly, day: fri}
        reward: cake
        changes:
          - date: 2027-01-04
            reason: too late
            master: won_deals
    """)
    result = cli("plan", "check", str(path))
    assert result.exit_code == 1
    out = " ".join(result.output.split())  # whatever the terminal's wrapping
    assert f"the plan {path} has 4 problems" in out
    assert f"{path}:10: focus[1].targets.rep: close_rate is an insight KPI" in out
    assert (
        f"{path}:11: focus[2].kpi: unknown KPI 'pipelin_value' (did you mean pipeline_value?); "
        "known: activities," in out
    )
    assert (
        f"{path}:2: focus: on the quarter's first day there are 2 Master KPIs "
        "(won_deals, close_rate)" in out
    )
    assert f"{path}:16: changes[0].date: the change dated 2027-01-04 is outside 2026-Q4" in out


def test_check_as_json(cli, write_plan, good_plan_text):
    import json

    path = write_plan(good_plan_text)
    good = cli("plan", "check", str(path), "--json", "--at", "2026-12-01")
    assert good.exit_code == 0, good.output
    doc = json.loads(good.stdout)  # notices go to stderr
    assert doc["ok"] is True and doc["problems"] == [] and doc["plan"]["quarter"] == "2026-Q4"
    assert doc["in_effect"]["focus"][0] == {"kpi": "qualified_leads", "master": True}
    bad = write_plan("quarter: 2026-Q4\nfocus: []\n")
    result = cli("plan", "check", str(bad), "--json")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc["ok"] is False
    assert {(p["field"], p["line"]) for p in doc["problems"]} >= {("review", 1), ("reward", 1)}


def test_check_a_missing_file(cli, tmp_path):
    result = cli("plan", "check", str(tmp_path / "nope.yaml"))
    assert result.exit_code == 1
    assert "cannot read the plan file" in result.output


def test_every_command_explains_itself(cli):
    for args, words in [
        (("plan", "--help"), ["check", "apply", "suggest", "Master KPI"]),
        (("plan", "check", "--help"), ["insight KPI", "--at"]),
        (("plan", "apply", "--help"), ["plan_targets", "unchanged"]),
        (
            ("plan", "suggest", "--help"),
            ["--percentile", "--weeks", "--quarter", "KPIFLOW_PLAN_FILE"],
        ),
        (
            ("flow", "--help"),
            ["--as-of", "--team", "--plan", "--watch", "KPIFLOW_TEAM", "KPIFLOW_TIMEZONE"],
        ),
    ]:
        result = cli(*args)
        assert result.exit_code == 0, (args, result.output)
        for word in words:
            assert word in result.output, (args, word)


def test_apply_flow_and_suggest_on_chdb(cli, settings_on, write_plan, good_plan_text):
    store = settings_on
    path = write_plan(good_plan_text)
    first = cli("plan", "apply", str(path))
    assert first.exit_code == 0, first.output
    assert "stored revision 1" in first.output
    assert "definition version 2, which is not registered" in first.output
    assert "unchanged, still revision 1" in cli("plan", "apply", str(path)).output

    q = date(2026, 10, 1)
    store.insert("live_version", [["live", 1, 1]], ["name", "version", "revision"])
    rows = [
        ("new_business_value", "quarter", q, "all", "all", 400000.0),
        ("new_business_value", "quarter", q, "team", "north", 200000.0),
        ("new_business_value", "quarter", q, "rep", "rep-ada", 50000.0),
        ("new_business_value", "day", date(2026, 10, 20), "all", "all", 300000.0),
        ("new_business_value", "week", date(2026, 9, 21), "rep", "rep-ada", 10000.0),
        ("new_business_value", "week", date(2026, 9, 14), "rep", "rep-ada", 20000.0),
    ]
    store.insert(
        "kpi_rows",
        [[1, *r, 1, 0] for r in rows],
        KPI_ROW_COLUMNS,
    )
    store.insert(
        "raw_event_log",
        [["e1", "deal.opened", "2026-10-02 09:00:00", "rep-ada", "north"]],
        ["event_id", "event_type", "occurred_at", "rep_id", "team_id"],
    )

    board = cli("flow", "--as-of", "2026-10-20")
    assert board.exit_code == 0, board.output
    out = board.output
    assert "KPI Flow 2026-Q4 · as of 2026-10-20" in out and "stored plan revision 1" in out
    assert out.index("MASTER KPI") < out.index("focus KPI 2 · activity_points")
    # 13 of 63 working days done before 10-20; the day rows up to 10-20: 300,000
    assert "13 of 63 working days done" in out
    assert "300,000 EUR" in out and "expected 185,714 EUR" in out
    assert "rep-ada" in out and "north" in out
    assert "close_rate show the quarter so far" in out

    december = " ".join(cli("flow", "--as-of", "2026-12-02").output.split())
    assert "MASTER KPI · qualified_leads" in december
    assert "the plan measures with definition v2, but v1 is live" in december

    import json

    doc = json.loads(cli("flow", "--as-of", "2026-10-20", "--json").stdout)
    assert (doc["quarter"], doc["as_of"], doc["source"]) == (
        "2026-Q4", "2026-10-20", "stored plan revision 1"
    )  # fmt: skip
    assert doc["focus"][0] == {"kpi": "new_business_value", "master": True}
    (org,) = [
        r for r in doc["rows"] if r["kpi"] == "new_business_value" and r["dimension_kind"] == "all"
    ]
    assert (org["actual_to_date"], org["working_days_elapsed"]) == (300000.0, 13)
    assert doc["celebrations"] == [] and doc["reward"]
    both = cli("flow", "--json", "--watch", "5")
    assert both.exit_code != 0 and "leave out --watch" in str(both.exception)

    team = cli("flow", "--plan", str(path), "--as-of", "2026-10-20", "--team", "north")
    assert team.exit_code == 0, team.output
    assert "team north" in team.output and "plan file" in team.output

    outside = cli("flow", "--plan", str(path), "--as-of", "2027-01-04")
    assert outside.exit_code != 0 and "outside 2026-Q4" in str(outside.exception)

    suggested = cli(
        "plan",
        "suggest",
        "--quarter",
        "2026-Q4",
        "--weeks",
        "2",
        "--percentile",
        "50",
        "--kpi",
        "new_business_value",
    )
    assert suggested.exit_code == 0, suggested.output
    focus = yaml.safe_load(suggested.stdout)["focus"]
    # p50 of 20,000 and 10,000 = 15,000 a week; x 63 / 5 = 189,000
    assert focus == [
        {"kpi": "new_business_value", "master": True, "targets": {"reps": {"rep-ada": 189000}}}
    ]
