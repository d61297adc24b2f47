"""Replay of one quarter under a changed definition, against the bulk rebuild, in one run.

    python bench/replay_bench.py [--events 1000000]

Builds a raw event log of a simulated quarter (10 teams, 50 reps) directly in an embedded
ClickHouse (no Kafka: this measures the rebuild paths, not ingestion), then times
  1. the bulk rebuild: read the whole raw log, `KpiEngine.apply`, `rows()` (the baseline), and
  2. `kpiflow replay`'s work: register a new definition version and build it with the
     projector's bulk path (chunked reads, the same engine, rows written to `kpi_rows`),
and prints seconds, events/s and the ratio replay / rebuild.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import load_simulated_raw_log  # noqa: E402
from kpiflow.projections import bulk  # noqa: E402
from kpiflow.projections.definitions import DEFAULT_DEFINITION, Definition  # noqa: E402
from kpiflow.projections.engine import KpiEngine  # noqa: E402
from kpiflow.projections.migrate import apply_migrations  # noqa: E402
from kpiflow.projections.rawlog import read_all_records, select_records  # noqa: E402
from kpiflow.projections.replay import build_offline  # noqa: E402
from kpiflow.projections.store import ClickHouseStore  # noqa: E402
from kpiflow.projections.versions import register, set_status  # noqa: E402

TZ = ZoneInfo("Europe/Amsterdam")


def load_raw_log(store: ClickHouseStore, n: int) -> int:
    count = load_simulated_raw_log(store, n, date(2026, 7, 1))
    store.command("OPTIMIZE TABLE {db}.raw_event_log FINAL")
    return count


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    path = Path(tempfile.mkdtemp(prefix="kpiflow-bench-replay-"))
    store = ClickHouseStore(f"chdb://{path}", "bench")
    apply_migrations(store)
    t = time.perf_counter()
    n = load_raw_log(store, args.events)
    print(f"raw log: {n} events loaded in {time.perf_counter() - t:.1f}s (setup, not measured)")
    set_status(store, DEFAULT_DEFINITION, "live")

    t = time.perf_counter()
    scanned = store.arrow(select_records(False) + " FROM {db}.raw_event_log").num_rows
    scan = time.perf_counter() - t
    print(f"Arrow scan of the raw log (floor): {scan:.2f}s, {scanned / scan:,.0f} rows/s")

    t = time.perf_counter()
    engine = KpiEngine(DEFAULT_DEFINITION, TZ)
    engine.apply(read_all_records(store, attributes=False))  # no custom KPIs: lean read
    expected = engine.rows()
    per_record = time.perf_counter() - t
    print(
        f"per-record rebuild (every row an EventRecord, as verify): {per_record:.2f}s, "
        f"{n / per_record:,.0f} events/s, {len(expected)} rows"
    )

    t = time.perf_counter()
    engine = KpiEngine(DEFAULT_DEFINITION, TZ)
    bulk.build(store, engine)
    rows = engine.rows()
    rebuild = time.perf_counter() - t
    print(
        f"bulk rebuild (activities counted by ClickHouse): {rebuild:.2f}s, "
        f"{n / rebuild:,.0f} events/s, {len(rows)} rows, {scan / rebuild:.2f} x the Arrow scan, "
        f"{per_record / rebuild:.1f} x the per-record rebuild, same rows: {rows == expected}"
    )

    new = register(
        store,
        Definition(
            description="intake 15",
            points={"intake": 15},
            qualification=("budget", "authority", "need", "timing"),
        ),
    )
    t = time.perf_counter()
    build_offline(store, new, TZ)
    replay = time.perf_counter() - t
    written = store.scalar(
        "SELECT count() FROM {db}.kpi_rows WHERE definition_version = {v:UInt32}",
        {"v": new.version},
    )
    print(
        f"replay into v{new.version}: {replay:.2f}s, {n / replay:,.0f} events/s, {written} rows "
        "written"
    )
    print(f"ratio replay / bulk rebuild: {replay / rebuild:.2f}x the time")
    figures = {
        "events": n,
        "arrow_scan_rate": scanned / scan,
        "per_record_eps": n / per_record,
        "same_rows": rows == expected,
        "rebuild_s": rebuild,
        "rebuild_eps": n / rebuild,
        "replay_s": replay,
        "replay_eps": n / replay,
        "ratio": replay / rebuild,
    }
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    for path in (out / "replay.json", args.json):
        if path is not None:
            path.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
