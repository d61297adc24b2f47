"""The projector's step for one live micro-batch: applied as the ingest handed it, against read
back from the raw log (the step before 2026-12-02 evening), on the same projector, alternating
batch by batch in one run.

A simulated quarter is loaded into the raw log of an embedded ClickHouse and built; then live
batches (the latency bench's rate: 2,000 events/s in 0.5 s batches, so about 1,000 events) are
inserted one by one, and every other one is stepped each way. Only the step is timed (the
insert is the ingest's). Printed: the median and p90 of each, and their ratio.

    python bench/projector_step_bench.py [--history 100000] [--batches 60] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import zlib
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (  # noqa: E402
    PARTITIONS,
    QUARTER_START,
    TIMEZONE,
    figure_line,
    load_average,
    load_simulated_raw_log,
    quarter_config,
    ratio,
    say,
    write_json,
)
from bench.peers import Placed  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


def measure(history: int, batches: int, batch_events: int) -> dict:
    from kpiflow.events import parse_event
    from kpiflow.events.envelope import aggregate_key
    from kpiflow.projections import rawlog
    from kpiflow.projections.definitions import DEFAULT_DEFINITION
    from kpiflow.projections.migrate import apply_migrations
    from kpiflow.projections.projector import Projector
    from kpiflow.projections.store import ClickHouseStore
    from kpiflow.streams.simulator import simulate_live

    # ignore_cleanup_errors: the embedded engine may still be writing its parts at the end
    with tempfile.TemporaryDirectory(
        prefix="kpiflow-step-bench-", ignore_cleanup_errors=True
    ) as work:
        store = ClickHouseStore(f"chdb://{work}/db", "kpiflow")
        apply_migrations(store)
        loaded = load_simulated_raw_log(store, history, QUARTER_START)
        say(f"loaded {loaded:,} events of history; building the projections")
        projector = Projector(store, ZoneInfo(TIMEZONE), DEFAULT_DEFINITION, snapshot_seconds=0)
        projector.sync_versions()
        while not projector.caught_up:
            projector.step()
        offsets = {
            r["p"]: r["o"] + 1
            for r in store.rows(
                "SELECT partition AS p, max(offset) AS o FROM {db}.raw_event_log GROUP BY p"
            )
        }
        live = simulate_live(quarter_config(history), datetime.now(UTC), 2000.0)
        timings: dict[str, list[float]] = {"read back": [], "handed": []}
        say(f"{batches} live batches of {batch_events} events, stepped each way in turn")
        for n in range(batches):
            placed, ranges = [], {}
            for _ in range(batch_events):
                _, event = next(live)
                text = json.dumps(event, separators=(",", ":"))
                p = zlib.crc32(aggregate_key(event).encode()) % PARTITIONS
                o = offsets.get(p, 0)
                offsets[p] = o + 1
                placed.append(Placed(parse_event(text, "EUR"), text, "sales.events", p, o))
                lo, hi = ranges.get(p, (o, o))
                ranges[p] = (min(lo, o), max(hi, o))
            rows = rawlog.insert(store, placed, None)
            way = "handed" if n % 2 else "read back"
            handed = [rawlog.inserted(rows, ranges)] if way == "handed" else []
            started = time.perf_counter()
            applied = projector.step(handed)
            timings[way].append(time.perf_counter() - started)
            assert applied == batch_events, (way, applied)
    out = {"history": loaded, "batch_events": batch_events, "load_average": load_average()}
    for way, values in timings.items():
        out[way] = {
            "median_ms": round(1000 * statistics.median(values), 1),
            "p90_ms": round(1000 * percentile(values, 90), 1),
        }
    out["ratio_median"] = ratio(out["handed"]["median_ms"], out["read back"]["median_ms"])
    return out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--history", type=int, default=100_000, help="events of history")
    parser.add_argument("--batches", type=int, default=60, help="live batches (half each way)")
    parser.add_argument("--batch-events", type=int, default=1000, help="events per batch")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    f = measure(args.history, args.batches, args.batch_events)
    print(
        f"projector step per live batch of {f['batch_events']:,} events, "
        f"{f['history']:,} events of history (load {f['load_average']:.2f})"
    )
    for way in ("read back", "handed"):
        median, p90 = f[way]["median_ms"], f[way]["p90_ms"]
        print(figure_line(f"{way} (median)", median, "ms", f"p90 {p90:.1f} ms"))
    print(f"   handed / read back (median): {f['ratio_median']:.2f}")
    write_json(args.json, f)
    return f


if __name__ == "__main__":
    main()
