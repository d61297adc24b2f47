"""Run every benchmark in sequence on one broker; print a summary table, write it as JSON.

    python bench/run_all.py [--quick] [--bootstrap HOST:PORT] [--skip-quix]

- bench/ingest_bench.py --events 200000 --floors (raw-log ingest vs a bare confluent-kafka
  consumer; the transports alone: bare poll + commit, Faust handing batches to a no-op agent);
- bench/e2e_bench.py --events 1000000 (live path vs the ceiling and Quix Streams, the bulk
  rebuild, latency at 2,000 events/s for 60 s);
- bench/replay_bench.py --events 1000000 (bulk rebuild and replay at 1M, no Kafka);
- bench/restart_bench.py --events 1000000 5000000 (worker restart to projections current and its
  memory: from a snapshot vs the rebuild);
- bench/projector_step_bench.py (the projector's step per live batch: handed by the ingest vs
  read back from the raw log; no Kafka).
`--quick` runs the first two with 100,000 events and 20 s of latency, and the restarts at 1M
only. Each benchmark runs
as its own process; the figures go to bench/results/latest.json (the directory is ignored by
git). Without --bootstrap one broker is started for the whole run (kpiflow.runtime.kafka).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (  # noqa: E402
    REPO,
    RESULTS_DIR,
    kafka_broker,
    load_average,
    require_quix,
    say,
    work_dir,
    write_json,
)

REBUILD_AIM_EVENTS = 1_000_000  # issue 14's aim for the bulk rebuild is at 1M events of history


def run(script: str, args: list[str]) -> dict:
    with tempfile.TemporaryDirectory(prefix="kpiflow-bench-json-") as tmp:
        out = Path(tmp) / "figures.json"
        argv = [sys.executable, str(REPO / "bench" / script), *args, "--json", str(out)]
        say(f"$ {' '.join(argv[1:])}")
        done = subprocess.run(argv, cwd=REPO, check=False)
        if done.returncode != 0 or not out.exists():
            raise SystemExit(f"{script} failed with exit code {done.returncode}")
        return json.loads(out.read_text())


def summary_rows(
    ingest: dict,
    e2e: dict,
    restart: dict | None = None,
    replay: dict | None = None,
    step: dict | None = None,
) -> list[dict]:
    """One row per figure: value, the baseline measured in the same run, their ratio, the aim."""
    rows = [
        {
            "figure": "raw-log ingest, events/s",
            "value": ingest["kpiflow"]["rate"],
            "baseline": "bare confluent-kafka consumer",
            "baseline_value": ingest["baseline"]["rate"],
            "ratio": ingest["ratio"],
            "aim": "ratio >= 0.6",
        },
        {
            "figure": "end to end (kpiflow worker), events/s",
            "value": e2e["kpiflow"]["rate"],
            "baseline": "ceiling (bare consumer + engine)",
            "baseline_value": e2e["ceiling"]["rate"],
            "ratio": e2e["ratios"]["kpiflow_vs_ceiling"],
            "aim": "ratio >= 0.8",
        },
    ]
    floor = ingest.get("faust_noop")
    if floor:
        rows.append(
            {
                "figure": "floor: Faust to a no-op agent, events/s",
                "value": floor["rate"],
                "baseline": "bare consumer, poll + commit only",
                "baseline_value": ingest["consume"]["rate"],
                "ratio": round(floor["rate"] / ingest["consume"]["rate"], 3),
                "aim": "",
            }
        )
        if "quix" in e2e:
            rows.append(
                {
                    "figure": "floor: Faust no-op agent / Quix end to end",
                    "value": floor["rate"],
                    "baseline": "Quix Streams peer, end to end",
                    "baseline_value": e2e["quix"]["rate"],
                    "ratio": round(floor["rate"] / e2e["quix"]["rate"], 3),
                    "aim": "(> 1 needed for kpiflow >= Quix)",
                }
            )
    if "quix" in e2e:
        rows.append(
            {
                "figure": "end to end (Quix Streams peer), events/s",
                "value": e2e["quix"]["rate"],
                "baseline": "ceiling (bare consumer + engine)",
                "baseline_value": e2e["ceiling"]["rate"],
                "ratio": e2e["ratios"]["quix_vs_ceiling"],
                "aim": "",
            }
        )
        rows.append(
            {
                "figure": "end to end, kpiflow / Quix Streams",
                "value": e2e["kpiflow"]["rate"],
                "baseline": "Quix Streams peer",
                "baseline_value": e2e["quix"]["rate"],
                "ratio": round(e2e["kpiflow"]["rate"] / e2e["quix"]["rate"], 3),
                "aim": "ratio >= 1.0",
            }
        )
    b = e2e["rebuild"]
    rows.append(
        {
            "figure": f"bulk rebuild at {e2e['events'] / 1e6:.1f}M events, events/s",
            "value": b["rate"],
            "baseline": "Arrow scan of the raw log, rows/s",
            "baseline_value": b["arrow_scan_rate"],
            "ratio": e2e["ratios"]["rebuild_vs_arrow_scan"],
            # the aim is at 1M events; a smaller raw log is mostly the build's fixed costs
            "aim": f">= 500,000 ({e2e['ratios']['rebuild_vs_aim']:.2f} x)"
            if e2e["events"] >= REBUILD_AIM_EVENTS
            else "(the aim is at 1M: below)",
        }
    )
    rows.append(
        {
            "figure": "bulk rebuild vs per-record rebuild",
            "value": b["rate"],
            "baseline": "per record (read_all_records + apply)",
            "baseline_value": b["per_record_rate"],
            "ratio": round(b["rate"] / b["per_record_rate"], 2),
            "aim": "",
        }
    )
    if replay:
        n = f"{replay['events'] / 1e6:.0f}M"
        rows.append(
            {
                "figure": f"bulk rebuild at {n} (no Kafka), events/s",
                "value": replay["rebuild_eps"],
                "baseline": "Arrow scan of the raw log, rows/s",
                "baseline_value": replay["arrow_scan_rate"],
                "ratio": round(replay["rebuild_eps"] / replay["arrow_scan_rate"], 2),
                "aim": f">= 500,000 ({replay['rebuild_eps'] / 500_000:.2f} x)",
            }
        )
        rows.append(
            {
                "figure": f"replay into a new version at {n}, events/s",
                "value": replay["replay_eps"],
                "baseline": "per record (read_all_records + apply)",
                "baseline_value": replay["per_record_eps"],
                "ratio": round(replay["replay_eps"] / replay["per_record_eps"], 2),
                "aim": f">= 500,000 ({replay['replay_eps'] / 500_000:.2f} x)",
            }
        )
    lat = e2e.get("latency") or {}
    if "p99" in lat:
        for q in ("p50", "p99"):
            rows.append(
                {
                    "figure": f"latency {q}, s (publish -> kpi_values)",
                    "value": lat[q],
                    "baseline": "Kafka delivery alone",
                    "baseline_value": lat.get(f"kafka_{q}", float("nan")),
                    "ratio": round(lat[q] / lat[f"kafka_{q}"], 1)
                    if lat.get(f"kafka_{q}")
                    else float("nan"),
                    "aim": "< 1 s" if q == "p99" else "",
                }
            )
        thirds = lat.get("p50_by_third")
        if thirds and thirds[0] and thirds[-1] is not None:
            rows.append(
                {
                    "figure": "latency p50, last third / first third",
                    "value": thirds[-1],
                    "baseline": "p50 of the first third",
                    "baseline_value": thirds[0],
                    "ratio": round(thirds[-1] / thirds[0], 2),
                    "aim": "<= 1 (no queue)",
                }
            )
    if step:
        rows.append(
            {
                "figure": "projector step per live batch (1,000 events), ms",
                "value": step["handed"]["median_ms"],
                "baseline": "the same step reading the batch back",
                "baseline_value": step["read back"]["median_ms"],
                "ratio": step["ratio_median"],
                "aim": "",
            }
        )
    for size, r in (restart or {}).items():
        n = f"{int(size) / 1e6:g}M"
        rows.append(
            {
                "figure": f"restart to current, {n} events, s",
                "value": r["snapshot"]["seconds"],
                "baseline": "the same worker rebuilding",
                "baseline_value": r["rebuild"]["seconds"],
                "ratio": r["ratio"],
                "aim": "< 10 s",
            }
        )
        rows.append(
            {
                "figure": f"worker RSS when current, {n} events, MB",
                "value": r["snapshot"]["rss_mb"],
                "baseline": "peak RSS of the rebuilding worker",
                "baseline_value": r["rebuild"]["peak_rss_mb"],
                "ratio": round(r["snapshot"]["rss_mb"] / r["rebuild"]["peak_rss_mb"], 2),
                "aim": "< 1,000 MB" if size == "5000000" else "",
            }
        )
        rows.append(
            {
                "figure": f"worker RSS 5 s after rebuilding, {n} events, MB",
                "value": r["rebuild"]["settled_rss_mb"],
                "baseline": "the worker from its snapshot, 5 s later",
                "baseline_value": r["snapshot"]["settled_rss_mb"],
                "ratio": round(r["rebuild"]["settled_rss_mb"] / r["snapshot"]["settled_rss_mb"], 2),
                "aim": "< 1,000 MB" if size == "5000000" else "",
            }
        )
        with_child = r["snapshot"]["settled_rss_mb"] + r["snapshot"].get("children_rss_mb", 0)
        rows.append(
            {
                "figure": f"worker + triage child RSS, snapshot, {n} events, MB",
                "value": with_child,
                "baseline": "the worker alone, 5 s later",
                "baseline_value": r["snapshot"]["settled_rss_mb"],
                "ratio": round(with_child / r["snapshot"]["settled_rss_mb"], 2),
                "aim": "< 1,000 MB" if size == "5000000" else "",
            }
        )
    return rows


def print_table(rows: list[dict]) -> None:
    header = (
        f"{'figure':<42} {'value':>12}  {'baseline (same run)':<36} {'baseline':>12} "
        f"{'ratio':>7}  aim"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        value = f"{r['value']:,.3f}" if r["value"] < 100 else f"{r['value']:,.0f}"
        base = r["baseline_value"]
        base_text = f"{base:,.3f}" if base < 100 else f"{base:,.0f}"
        print(
            f"{r['figure']:<42} {value:>12}  {r['baseline']:<36} {base_text:>12} "
            f"{r['ratio']:>7.2f}  {r['aim']}"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="100k events, 20 s of latency")
    parser.add_argument("--bootstrap", help="use this running broker instead of starting one")
    parser.add_argument("--skip-quix", action="store_true", help="no Quix Streams peer")
    parser.add_argument("--json", type=Path, default=RESULTS_DIR / "latest.json")
    args = parser.parse_args(argv)
    require_quix(args.skip_quix)
    ingest_events = 100_000 if args.quick else 200_000
    e2e_events = 100_000 if args.quick else 1_000_000
    latency_seconds = 20 if args.quick else 60
    started = datetime.now(UTC)
    load_start = load_average()
    with work_dir(keep=False) as work, kafka_broker(args.bootstrap, work) as bootstrap:
        ingest = run(
            "ingest_bench.py",
            ["--events", str(ingest_events), "--bootstrap", bootstrap, "--floors"],
        )
        e2e_args = [
            "--events",
            str(e2e_events),
            "--latency-seconds",
            str(latency_seconds),
            "--bootstrap",
            bootstrap,
        ]
        if args.skip_quix:
            e2e_args.append("--skip-quix")
        e2e = run("e2e_bench.py", e2e_args)
        replay = run("replay_bench.py", ["--events", "1000000"])
        sizes = ["1000000"] if args.quick else ["1000000", "5000000"]
        restart = run("restart_bench.py", ["--events", *sizes, "--bootstrap", bootstrap])
    step = run("projector_step_bench.py", [])
    rows = summary_rows(ingest, e2e, restart, replay, step)
    print()
    print(
        f"summary ({started:%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, "
        f"load average at start {load_start:.1f})"
    )
    print_table(rows)
    write_json(
        args.json,
        {
            "started": started.isoformat(timespec="seconds"),
            "cores": os.cpu_count(),
            "load_average_start": round(load_start, 2),
            "quick": args.quick,
            "summary": rows,
            "ingest": ingest,
            "e2e": e2e,
            "restart": restart,
            "replay": replay,
            "projector_step": step,
        },
    )
    print(f"\nwritten to {args.json}")


if __name__ == "__main__":
    main()
