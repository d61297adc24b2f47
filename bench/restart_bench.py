"""Worker restart time and memory as history grows: a rebuild against a snapshot, in one run.

    python bench/restart_bench.py [--events 1000000 5000000] [--bootstrap HOST:PORT]

For each size N: a raw log of N events is written straight into a worker's embedded ClickHouse
(a simulated quarter of 1M-event scale, repeated with fresh ids, entities and dates one quarter
later each time, so N = 5M is five quarters of a 50-rep org), with nothing new in Kafka. Then:
1. `kpiflow worker` on it the first time: no snapshot, so the projector builds from the whole
   raw log (the baseline, the same as any restart before snapshots);
2. SIGTERM, and `kpiflow worker` again: from the snapshot the first run saved.
Each is timed from the process start to the state endpoint showing every version built with N
events applied (imports, Faust, the group join included). Memory: the worker's resident set
when current, again 5 s later (a rebuilt version is reported current before its snapshot is
saved and the allocators give memory back: the set it keeps), and its peak (VmHWM). Figures
as ratios against the rebuild of the same run.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (  # noqa: E402
    DATABASE,
    PARTITIONS,
    WorkerProcess,
    child_pids,
    create_topics,
    kafka_broker,
    load_average,
    load_simulated_raw_log,
    new_tag,
    pipeline_env,
    say,
    settings_for,
    work_dir,
    write_json,
)

QUARTER = 1_000_000
QUARTER_DAYS = 92  # of bench.common.load_simulated_raw_log
SETTLE_SECONDS = 5.0


def repeat_quarter(store, copy: int, per_partition: int) -> None:
    """The first quarter again, `copy` quarters later: new event ids, new entity ids, offsets
    after the ones already there (the raw log as years of ingest leave it)."""
    from kpiflow.projections.rawlog import RAW_COLUMNS

    shifted = {
        "event_id": "toString(generateUUIDv4(number))",
        "occurred_at": f"occurred_at + toIntervalDay({copy * QUARTER_DAYS})",
        "lead_id": f"if(lead_id = '', '', concat(lead_id, '-q{copy}'))",
        "deal_id": f"if(deal_id = '', '', concat(deal_id, '-q{copy}'))",
        "customer_id": f"if(customer_id = '', '', concat(customer_id, '-q{copy}'))",
        "offset": f"offset + {copy * per_partition}",
    }
    columns = ", ".join(RAW_COLUMNS)
    select = ", ".join(shifted.get(c, c) for c in RAW_COLUMNS)
    store.command(
        f"INSERT INTO {{db}}.raw_event_log ({columns}) SELECT {select} "  # noqa: S608 (constants)
        f"FROM (SELECT *, rowNumberInAllBlocks() AS number FROM {{db}}.raw_event_log "
        f"WHERE offset < {per_partition})"
    )


def build_history(env: dict[str, str], events: int) -> int:
    from kpiflow.projections.migrate import apply_migrations
    from kpiflow.projections.store import ClickHouseStore

    settings = settings_for(env)
    store = ClickHouseStore(settings.clickhouse_dsn, DATABASE)
    apply_migrations(store)
    quarter = load_simulated_raw_log(store, min(events, QUARTER), date(2024, 1, 1), "bench.events")
    per_partition = int(store.scalar("SELECT max(offset) + 1 FROM {db}.raw_event_log"))
    for copy in range(1, -(-events // QUARTER)):
        repeat_quarter(store, copy, per_partition)
    store.command("OPTIMIZE TABLE {db}.raw_event_log FINAL")
    total = int(store.scalar("SELECT count() FROM {db}.raw_event_log"))
    store.close()
    say(f"raw log: {total:,} events ({quarter:,} simulated, the rest repeated quarters)")
    return total


def _memory_kb(pid: int) -> tuple[int, int]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        fields[name] = value.strip()
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


def _children_kb(pid: int) -> int:
    """Resident set of the process's children (the worker's triage process), summed."""
    total = 0
    for child in child_pids(pid):
        try:
            total += _memory_kb(child)[0]
        except (OSError, KeyError):
            continue
    return total


def start_until_current(env: dict, log: Path, events: int) -> dict:
    started = time.monotonic()
    worker = WorkerProcess(
        env, log, [sys.executable, "-m", "kpiflow.cli", "worker", "--loglevel", "info"]
    )
    try:
        worker.wait_projected(events, timeout=1800)
        seconds = time.monotonic() - started
        rss, _ = _memory_kb(worker.proc.pid)
        # current is reported before the work after a build is done (its snapshot saved, the
        # allocators' memory given back): the resident set the worker keeps, a while later
        time.sleep(SETTLE_SECONDS)
        settled, peak = _memory_kb(worker.proc.pid)
        children = _children_kb(worker.proc.pid)
    finally:
        worker.stop()
    text = log.read_text(errors="replace")
    return {
        "seconds": round(seconds, 2),
        "rss_mb": round(rss / 1024),
        "settled_rss_mb": round(settled / 1024),
        "peak_rss_mb": round(peak / 1024),
        "children_rss_mb": round(children / 1024),  # 5 s later, too
        "from_snapshot": "loaded from its snapshot" in text,
    }


def measure(bootstrap: str, work: Path, sizes: list[int]) -> dict:
    out = {}
    for n in sizes:
        tag = new_tag()
        base = work / f"restart-{n}"
        env = {
            **pipeline_env(bootstrap, base, tag),
            "KPIFLOW_SNAPSHOT_SECONDS": "300",
        }
        create_topics(bootstrap, {env["KPIFLOW_KAFKA_EVENTS_TOPIC"]: PARTITIONS})
        events = build_history(env, n)
        load = load_average()
        rebuild = start_until_current(env, base / "worker-1.log", events)
        snapshot = start_until_current(env, base / "worker-2.log", events)
        out[str(n)] = {
            "events": events,
            "load_average": round(load, 2),
            "rebuild": rebuild,
            "snapshot": snapshot,
            "ratio": round(snapshot["seconds"] / rebuild["seconds"], 3),
        }
        say(
            f"{events:>10,} events: rebuild {rebuild['seconds']:6.1f} s "
            f"(RSS {rebuild['rss_mb']} MB, {SETTLE_SECONDS:.0f} s later "
            f"{rebuild['settled_rss_mb']} MB, peak {rebuild['peak_rss_mb']} MB); from the snapshot "
            f"{snapshot['seconds']:6.1f} s (RSS {snapshot['rss_mb']} MB, later "
            f"{snapshot['settled_rss_mb']} MB, peak {snapshot['peak_rss_mb']} MB, "
            f"loaded: {snapshot['from_snapshot']}); its triage child "
            f"{snapshot['children_rss_mb']} MB more; "
            f"ratio {out[str(n)]['ratio']:.2f}"
        )
    return out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, nargs="+", default=[1_000_000, 5_000_000])
    parser.add_argument("--bootstrap", help="use this running broker instead of starting one")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    with work_dir(args.keep) as work, kafka_broker(args.bootstrap, work) as bootstrap:
        figures = measure(bootstrap, work, args.events)
    write_json(args.json, figures)
    return figures


if __name__ == "__main__":
    main()
