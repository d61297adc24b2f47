"""kpiflow demo: the whole pipeline on this machine, ending with KPIs on screen."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.rule import Rule

from kpiflow.commands.common import console, settings, stored_custom_kpis
from kpiflow.errors import RuntimeServiceError

EXAMPLE_PLAN = Path(__file__).resolve().parents[2] / "examples" / "plans" / "2026-Q4.yaml"
EXAMPLE_DEFINITION = (
    Path(__file__).resolve().parents[2] / "examples" / "definitions" / "trade-show-q4.yaml"
)


def _pid_file(data_dir: Path) -> Path:
    return data_dir / "worker.pid"


def worker_running(data_dir: Path) -> int | None:
    try:
        pid = int(_pid_file(data_dir).read_text())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


def start_worker_background(data_dir: Path) -> int:
    pid = worker_running(data_dir)
    if pid:
        return pid
    data_dir.mkdir(parents=True, exist_ok=True)
    log = (data_dir / "worker.log").open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "kpiflow.cli", "worker"],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    _pid_file(data_dir).write_text(str(proc.pid))
    return proc.pid


def stop_worker_background(data_dir: Path, timeout: float = 30) -> None:
    pid = worker_running(data_dir)
    if not pid:
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and worker_running(data_dir):
        time.sleep(0.3)
    if worker_running(data_dir):
        os.kill(pid, signal.SIGKILL)
    _pid_file(data_dir).unlink(missing_ok=True)


def _wait_worker(s, timeout: float = 120) -> None:
    from kpiflow.commands.ingest import _worker_state

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = _worker_state(s)
        if state and state.get("projector"):
            return
        if not worker_running(s.pipeline.data_dir):
            log = (
                (s.pipeline.data_dir / "worker.log").read_text(errors="replace").splitlines()[-20:]
            )
            raise RuntimeServiceError("the worker stopped while starting:\n" + "\n".join(log))
        time.sleep(0.5)
    raise RuntimeServiceError(
        f"the worker did not become ready in {timeout:.0f}s; see "
        f"{s.pipeline.data_dir / 'worker.log'}"
    )


def demo(
    teams: Annotated[int, typer.Option(help="simulated teams")] = 4,
    reps_per_team: Annotated[int, typer.Option(help="simulated reps per team")] = 5,
    keep_worker: Annotated[bool, typer.Option(help="leave the worker running at the end")] = False,
) -> None:
    """Run everything here: Kafka + the worker + simulated sales activity, then the KPIs.

    Starts Kafka (fetched from Maven Central the first time) and the worker, simulates the
    previous quarter and this quarter so far, waits until every event is in the projections,
    stores the example quarter plan, and shows status, reports and the KPI Flow board.
    """
    from kpiflow.commands import ingest, report, runtime
    from kpiflow.commands.simulate import simulate

    s = settings(creates_data_dir=True)
    console.print(Rule("1. Kafka, topics, ClickHouse schema"))
    runtime.up(kafka=True)
    console.print(Rule("2. the worker"))
    pid = start_worker_background(s.pipeline.data_dir)
    _wait_worker(s)
    console.print(f"worker running (pid {pid}, log {s.pipeline.data_dir / 'worker.log'})")
    console.print(Rule("3. simulated sales activity: last quarter and this quarter so far"))
    from kpiflow.streams.simulator import previous_quarter_start

    today = datetime.now(UTC).date()
    first = previous_quarter_start(today)
    simulate(
        teams=teams,
        reps_per_team=reps_per_team,
        seed=42,
        start=first.isoformat(),
        days=(today - first).days,
        timezone="Europe/Amsterdam",
        target_events=None,
        history=True,
        live=False,
        rate=5.0,
        output=None,
    )
    console.print(Rule("4. waiting until every event is in the projections"))
    ingest.wait(timeout=600, projections=True)
    ingest.status()
    console.print(Rule("5. the team's own KPIs: a definition version with custom KPIs"))
    _custom_kpis_version(s)
    if EXAMPLE_PLAN.exists() and today.year == 2026 and (today.month - 1) // 3 == 3:
        from kpiflow.commands.plan import apply as plan_apply

        console.print(Rule("6. the quarter plan (a custom KPI among its focus KPIs)"))
        stored_custom_kpis(plan_apply)(EXAMPLE_PLAN)

    def table(kpi: str, grain: str, by: str, start: date) -> None:
        fmt = report.Fmt.table
        report.report(kpi, grain, by, start.isoformat(), end=None, fmt=fmt, version=None)

    console.print(Rule("activity points per team, by week"))
    table("activity_points", "week", "team", first)
    console.print(Rule("won value per rep, this quarter"))
    table("won_value", "quarter", "rep", today)
    console.print(Rule("pipeline value and close rate per team, by month"))
    table("pipeline_value", "month", "team", first)
    table("close_rate", "month", "team", first)
    try:
        from kpiflow.commands.coach import coach

        console.print(Rule("coaching one rep beside the team (for managers; never a ranking)"))
        coach("rep-001", None, first.isoformat(), today.isoformat(), False)
    except Exception as exc:  # noqa: BLE001 - a demo screen; say why it is missing
        console.print(f"[yellow]coaching not shown: {escape(str(exc))}[/]")
    try:
        from kpiflow.commands.plan import flow

        console.print(Rule("the KPI Flow board"))
        stored_custom_kpis(flow)()
    except Exception as exc:  # noqa: BLE001 - the board is the last screen; say why it is missing
        console.print(f"[yellow]KPI Flow board not shown: {escape(str(exc))}[/]")
    if not keep_worker:
        stop_worker_background(s.pipeline.data_dir)
        console.print("\nworker stopped; Kafka keeps running (`kpiflow down` stops it).")
    console.print(
        "Try: kpiflow report activity_points --grain week --by rep --format table, "
        "kpiflow coach rep-002, kpiflow import deals examples/import/sales_pipeline.csv "
        "--mapping examples/import/sales_pipeline.mapping.yaml --dry-run"
    )


def _custom_kpis_version(s) -> None:
    """Replay the example definition with custom KPIs (once) and make it the live version."""
    from kpiflow.commands.replay import promote, replay
    from kpiflow.projections.definition_file import load_definition_file
    from kpiflow.projections.store import open_store
    from kpiflow.projections.versions import list_versions

    wanted = load_definition_file(EXAMPLE_DEFINITION).fingerprint()

    def existing() -> int | None:
        store = open_store(s)
        try:
            for row in list_versions(store):
                if row["fingerprint"] == wanted and row["status"] != "retired":
                    return int(row["version"])
            return None
        finally:
            store.close()

    version = existing()
    if version is None:
        replay(EXAMPLE_DEFINITION, quarter=None, timeout=900.0)
        version = existing()
    if version is not None:
        promote(version, note="the team's own KPIs (examples/definitions/trade-show-q4.yaml)")


def register(app: typer.Typer) -> None:
    app.command()(demo)
