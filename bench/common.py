"""What every benchmark shares: a broker, topics, simulated events, worker processes, timings.

Figures come from ClickHouse's own clocks where possible, the same way for every contender:
- `raw_event_log.ingested_at` (DEFAULT now64(6), one value per insert) stamps each raw-log batch;
- `kpi_rows.updated_at` (DEFAULT now64(3)) stamps each projection write.
A rate is the events written after the first insert divided by the time from the first insert to
the last write, so process start-up, group joins and polling intervals never count, and a worker
seen from outside is timed exactly like a peer that times itself.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS_DIR = REPO / "bench" / "results"

TEAMS = 10
REPS_PER_TEAM = 5
QUARTER_START = date(2026, 7, 1)
PARTITIONS = 6
BATCH_SIZE = 2000  # the worker's default KPIFLOW_BATCH_SIZE; every contender uses it
BATCH_SECONDS = 0.5  # the worker's default KPIFLOW_BATCH_SECONDS
TIMEZONE = "Europe/Amsterdam"  # the simulated org's zone; the worker and the peers use it
DATABASE = "kpiflow"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def require_quix(skip: bool) -> None:
    """Stop before any work when the Quix Streams peer is wanted but not installed."""
    if skip or importlib.util.find_spec("quixstreams") is not None:
        return
    raise SystemExit(
        "the Quix Streams peer needs quixstreams, which is not installed here: pass --skip-quix, "
        "or install it as docs/benchmarks.md 'How to run' says (pip install -e '.[bench]' "
        "changes three of the project's pins)"
    )


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def child_pids(pid: int | str = "self") -> list[int]:
    """The processes that `pid` (any of its threads) started and that are still there: the
    worker's triage process. Linux (/proc)."""
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return out


def load_average() -> float:
    return os.getloadavg()[0]


# -- Kafka ---------------------------------------------------------------------------------


@contextmanager
def kafka_broker(bootstrap: str | None, work: Path) -> Iterator[str]:
    """The broker to use: `bootstrap` as given, or a fresh single-node broker of our own."""
    if bootstrap:
        yield bootstrap
        return
    try:
        from kpiflow.runtime import kafka as runtime
    except ModuleNotFoundError as exc:
        raise SystemExit(
            f"cannot start a broker: {exc}. Pass --bootstrap HOST:PORT to use a running one."
        ) from None
    data_dir = work / "kafka"
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    say(f"starting a Kafka broker on 127.0.0.1:{port} (data in {data_dir})")
    runtime.ensure_installed()
    runtime.start(data_dir, port=port, controller_port=free_port())
    try:
        yield f"127.0.0.1:{port}"
    finally:
        runtime.stop(data_dir)


def create_topics(bootstrap: str, partitions: dict[str, int]) -> None:
    """Create the topics (messages kept forever) with the runtime module, as `kpiflow up` does."""
    from kpiflow.runtime import kafka as runtime

    runtime.ensure_topics(bootstrap, partitions, retention_ms={t: -1 for t in partitions})


# -- settings and events -------------------------------------------------------------------


def pipeline_env(bootstrap: str, base: Path, tag: str) -> dict[str, str]:
    """The KPIFLOW_* variables of one contender: its own data dir, topics, group and port."""
    return {
        "KPIFLOW_DATA_DIR": str(base / "data"),
        "KPIFLOW_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "KPIFLOW_KAFKA_EVENTS_TOPIC": f"bench-{tag}.events",
        "KPIFLOW_KAFKA_DLQ_TOPIC": f"bench-{tag}.events.dlq",
        "KPIFLOW_KAFKA_CONSUMER_GROUP": f"kpiflow-bench-{tag}",
        "KPIFLOW_KAFKA_PARTITIONS": str(PARTITIONS),
        "KPIFLOW_WORKER_WEB_PORT": str(free_port()),
        "KPIFLOW_WORKER_SQL_PORT": "0",
        "KPIFLOW_CLICKHOUSE_DSN": "",
        "KPIFLOW_CLICKHOUSE_DATABASE": DATABASE,
        "KPIFLOW_TIMEZONE": TIMEZONE,
        "KPIFLOW_BATCH_SIZE": str(BATCH_SIZE),
        "KPIFLOW_BATCH_SECONDS": str(BATCH_SECONDS),
        "KPIFLOW_SESSION_TIMEOUT": "6",
        "KPIFLOW_REBALANCE_TIMEOUT": "10",
        "KPIFLOW_ENV_FILE": str(base / "no.env"),  # never pick up a developer's .env
    }


def settings_for(env: dict[str, str]):
    """Settings as a process with `env` would see them (the caller's environment is restored)."""
    from kpiflow.settings import Settings

    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        return Settings()
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@dataclass(frozen=True)
class Published:
    events: int
    activities: int
    seconds: float


def quarter_config(events: int, seed: int = 42):
    from kpiflow.streams.simulator import OrgConfig

    return OrgConfig.for_target_events(
        events, teams=TEAMS, reps_per_team=REPS_PER_TEAM, start=QUARTER_START, seed=seed
    )


def publish_quarter(settings, events: int, seed: int = 42) -> Published:
    """Publish a simulated quarter of about `events` events (50 reps, 10 teams), keyed as
    `kpiflow publish` keys them. The simulator's events are valid by construction, so they go
    straight to the producer (the worker validates them again)."""
    from kpiflow.events.envelope import aggregate_key
    from kpiflow.streams.producer import EventPublisher
    from kpiflow.streams.simulator import simulate_history

    started = time.perf_counter()
    publisher = EventPublisher(settings)
    count = activities = 0
    for event in simulate_history(quarter_config(events, seed)):
        publisher.send_valid(
            json.dumps(event, separators=(",", ":")).encode(), aggregate_key(event)
        )
        count += 1
        activities += event["event_type"] == "activity.logged"
    publisher.flush()
    return Published(count, activities, time.perf_counter() - started)


# -- timings from ClickHouse's clocks -----------------------------------------------------

SPAN_SQL = (
    "SELECT count() AS events, toUnixTimestamp64Micro(min(ingested_at)) AS first_us, "
    "toUnixTimestamp64Micro(max(ingested_at)) AS last_us, "
    "countIf(ingested_at = (SELECT min(ingested_at) FROM {db}.raw_event_log)) AS first_batch "
    "FROM {db}.raw_event_log"
)
LAST_PROJECTION_SQL = "SELECT toUnixTimestamp64Micro(max(updated_at)) AS last_us FROM {db}.kpi_rows"
CHECKSUM_SQL = (
    "SELECT count() AS rows, round(sum(value), 2) AS total, "
    "sumIf(value, kpi = 'activities' AND grain = 'quarter' AND dimension_kind = 'rep') "
    "AS activities "
    "FROM {db}.kpi_rows FINAL WHERE is_deleted = 0 AND definition_version = 1"
)


def load_simulated_raw_log(
    store, events: int, start: date, topic: str = "sales.events", partitions: int = PARTITIONS
) -> int:
    """A simulated quarter of about `events` events (50 reps in 10 teams, 92 days from `start`)
    straight into the raw log, as the worker would store it (no Kafka). Returns the count."""
    from kpiflow.events import parse_event
    from kpiflow.projections.rawlog import RAW_COLUMNS, row
    from kpiflow.streams.simulator import OrgConfig, simulate_history

    cfg = OrgConfig.for_target_events(events, teams=10, reps_per_team=5, start=start, days=92)
    offsets = [0] * partitions
    batch: list[list] = []
    count = 0
    for event in simulate_history(cfg):
        text = json.dumps(event, separators=(",", ":"))
        parsed = parse_event(text, "EUR")
        p = hash(parsed.aggregate_key()) % partitions
        batch.append(row(parsed, text, topic, p, offsets[p]))
        offsets[p] += 1
        count += 1
        if len(batch) == 100_000:
            store.insert("raw_event_log", batch, RAW_COLUMNS)
            batch = []
    store.insert("raw_event_log", batch, RAW_COLUMNS)
    return count


def raw_span(store, *, through_projections: bool = False) -> dict[str, Any]:
    """Events/s from the first raw-log insert to the last raw-log insert (or projection write)."""
    row = store.rows(SPAN_SQL)[0]
    last = row["last_us"]
    if through_projections:
        last = store.rows(LAST_PROJECTION_SQL)[0]["last_us"]
    seconds = max(last - row["first_us"], 1) / 1e6
    timed = row["events"] - row["first_batch"]
    return {
        "events": row["events"],
        "seconds": round(seconds, 3),
        "rate": round(timed / seconds, 1),
    }


def checksum(store) -> dict[str, Any]:
    row = store.rows(CHECKSUM_SQL)[0]
    return {"rows": row["rows"], "total": row["total"], "activities": row["activities"]}


# -- the kpiflow worker as a process -------------------------------------------------------


class WorkerProcess:
    """`kpiflow worker` with the given environment, logging to a file."""

    def __init__(self, env: dict[str, str], log_path: Path, argv: list[str] | None = None) -> None:
        self.env = env
        self.log_path = log_path
        full = {**os.environ, **env}
        for name in [k for k in full if k.startswith("KPIFLOW_TEST_")]:
            full.pop(name)
        self.proc = subprocess.Popen(
            argv or [sys.executable, "-m", "kpiflow.cli", "worker", "--loglevel", "warning"],
            cwd=REPO,
            env=full,
            stdout=log_path.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def port(self) -> str:
        return self.env["KPIFLOW_WORKER_WEB_PORT"]

    def state(self) -> dict | None:
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{self.port}/kpiflow/state", timeout=5
            ) as r:  # noqa: S310
                return json.loads(r.read())
        except OSError:
            return None

    def gateway(self):
        from kpiflow.projections.store import GatewayStore, gateway_file

        info = json.loads(gateway_file(Path(self.env["KPIFLOW_DATA_DIR"])).read_text())
        return GatewayStore(info["url"], info["token"], DATABASE)

    def check_alive(self) -> None:
        if self.proc.poll() is not None:
            raise SystemExit(f"the worker exited with {self.proc.returncode}:\n{self.tail()}")

    def wait_ready(self, timeout: float = 120) -> float:
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            self.check_alive()
            state = self.state()
            if state is not None and state.get("leader"):
                return time.monotonic() - started
            time.sleep(0.2)
        raise SystemExit(f"the worker was not ready in {timeout:.0f}s:\n{self.tail()}")

    def wait_raw(self, expected: int, timeout: float) -> None:
        """Until the raw log holds `expected` rows."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            state = self.state()
            if state and state["ingest"]["accepted"] >= expected:
                if self.gateway().scalar("SELECT count() FROM {db}.raw_event_log") >= expected:
                    return
            time.sleep(0.25)
        raise SystemExit(
            f"the worker did not ingest {expected} events in {timeout:.0f}s: {self.state()}"
        )

    def wait_projected(self, expected: int, timeout: float) -> None:
        """Until the projector applied `expected` events (its write then precedes any query:
        the worker runs every ClickHouse call on one thread, in order)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            state = self.state()
            projector = (state or {}).get("projector") or {}
            if projector and all(
                v["built"] and v["events"] >= expected for v in projector.values()
            ):
                return
            time.sleep(0.2)
        raise SystemExit(
            f"the projections did not reach {expected} events in {timeout:.0f}s: {self.state()}"
        )

    def tail(self, n: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])

    def stop(self, timeout: float = 60) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=30)


# -- peers (bench/peers.py) as processes ---------------------------------------------------


def run_peer(
    kind: str,
    settings,
    data_dir: Path,
    expected: int,
    group: str,
    log_path: Path,
    timeout: float,
    extra: list[str] | None = None,
) -> dict[str, Any]:
    """Run one peer of bench/peers.py to completion; returns the JSON it prints last."""
    k = settings.kafka
    argv = [
        sys.executable,
        str(REPO / "bench" / "peers.py"),
        kind,
        "--bootstrap",
        k.bootstrap_servers,
        "--topic",
        k.events_topic,
        "--group",
        group,
        "--data-dir",
        str(data_dir),
        "--expect",
        str(expected),
        "--batch",
        str(settings.pipeline.batch_size),
        "--batch-seconds",
        str(settings.pipeline.batch_seconds),
        "--currency",
        settings.pipeline.currency,
        "--timezone",
        settings.pipeline.timezone,
        *(extra or []),
    ]
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            argv, cwd=REPO, stdout=subprocess.PIPE, stderr=log, start_new_session=True
        )
        try:
            out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise SystemExit(
                f"peer {kind} did not finish in {timeout:.0f}s; log: {log_path}"
            ) from None
    lines = [line for line in out.decode().splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-30:])
        raise SystemExit(f"peer {kind} failed ({proc.returncode}):\n{tail}")
    return json.loads(lines[-1])


# -- the work directory and results -----------------------------------------------------


@contextmanager
def work_dir(keep: bool) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="kpiflow-bench-"))
    try:
        yield path
    finally:
        if keep:
            say(f"kept {path}")
        else:
            shutil.rmtree(path, ignore_errors=True)


def new_tag() -> str:
    return uuid.uuid4().hex[:8]


def figure_line(label: str, value: float, unit: str, note: str = "") -> str:
    """One aligned line of a report: label, value, unit, then a note (seconds, ratio, ...)."""
    text = f"{value:,.3f}" if abs(value) < 100 else f"{value:,.0f}"
    return f"   {label:<46} {text:>10} {unit:<9} {note}".rstrip()


def ratio(value: float, baseline: float) -> float:
    return round(value / baseline, 3) if baseline else float("nan")


def write_json(path: Path | None, payload: dict[str, Any]) -> None:
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")


def add_common_options(parser) -> None:
    parser.add_argument("--bootstrap", help="use this running broker instead of starting one")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs, data)")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
