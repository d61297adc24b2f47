"""End to end: a simulated quarter through Kafka, the worker and the ClickHouse projections.

    python bench/e2e_bench.py [--events 1000000] [--latency-seconds 60] [--bootstrap HOST:PORT]

Publishes a simulated quarter of about N events (50 reps in 10 teams, 91 days) to a fresh
6-partition topic, then measures, one contender at a time (they never share the 2 cores):

1. Sustained events/s from the first raw-log insert to the last `kpi_rows` write:
   - ceiling: a bare confluent-kafka consumer doing the worker's work per batch and nothing more
     (validate, raw-log insert with its dedup token, `KpiEngine.apply` + `take_changes` +
     `projections.writer.write_changes`, commit): the Python ceiling (bench/peers.py `ceiling`);
   - quix: the same batch work as a Quix Streams sink (bench/peers.py `quix`);
   - kpiflow: `kpiflow worker` (ingest agent + projector task), each with its own embedded
     ClickHouse, consumer group and data dir. The three final projections are compared.
2. The bulk rebuild: `projections.bulk.build` + `rows()` (what the projector does) over the
   ceiling's raw log of N rows, against a bare Arrow scan of the same columns (the read floor);
   and the per-record path (`read_all_records` + `KpiEngine.apply` + `rows()`, as verify).
3. Latency at a steady rate (2,000 events/s for 60 s) into the worker that has the quarter
   loaded: markers (activities of a new synthetic rep id, 5 a second) are published among live
   simulated events, and `kpi_values` is polled through `projections.store.open_store` (the
   worker's gateway, as `kpiflow report` reads it) until each marker's rep shows up. Latency =
   publish call -> the first query that returns it. A consumer tapping the topic gives the Kafka
   delivery time of the same markers (the floor).

Aims (issue 14): kpiflow >= 1.0 x the Quix Streams peer and >= 0.8 x the ceiling, rebuild
>= 500k events/s, p99 < 1 s with no queue building up.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (  # noqa: E402
    BATCH_SECONDS,
    PARTITIONS,
    WorkerProcess,
    add_common_options,
    checksum,
    create_topics,
    figure_line,
    kafka_broker,
    load_average,
    new_tag,
    pipeline_env,
    publish_quarter,
    quarter_config,
    ratio,
    raw_span,
    require_quix,
    run_peer,
    say,
    settings_for,
    work_dir,
    write_json,
)

AIM_SHARE_OF_CEILING = 0.8
AIM_REBUILD = 500_000
AIM_P99_SECONDS = 1.0
MARKER_KPI_SQL = (
    "SELECT dimension FROM {db}.kpi_values WHERE kpi = 'activities' AND grain = 'day' "
    "AND dimension_kind = 'rep' AND dimension IN {ids:Array(String)}"
)


# -- 2. the bulk rebuild (runs in a process of its own: it opens the embedded ClickHouse) -----


def rebuild(data_dir: Path, tz_name: str, profile_to: Path | None) -> dict:
    from zoneinfo import ZoneInfo

    from kpiflow.projections.definitions import DEFAULT_DEFINITION
    from kpiflow.projections.engine import KpiEngine
    from kpiflow.projections.rawlog import SELECT_RECORDS, read_all_records
    from kpiflow.projections.store import ClickHouseStore

    store = ClickHouseStore(f"chdb://{data_dir.resolve()}", "kpiflow")
    tz = ZoneInfo(tz_name)
    events = int(store.scalar("SELECT count() FROM {db}.raw_events"))

    started = time.perf_counter()
    scanned = store.arrow(SELECT_RECORDS + " FROM {db}.raw_event_log").num_rows
    scan = time.perf_counter() - started

    started = time.perf_counter()
    read_only = sum(1 for _ in read_all_records(store))
    read = time.perf_counter() - started

    profiler = None
    if profile_to is not None:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    engine = KpiEngine(DEFAULT_DEFINITION, tz)
    started = time.perf_counter()
    engine.apply(read_all_records(store))
    applied = time.perf_counter() - started
    started = time.perf_counter()
    rows = engine.rows()
    folded = time.perf_counter() - started
    if profiler is not None:
        profiler.disable()
        profile_to.parent.mkdir(parents=True, exist_ok=True)
        profiler.dump_stats(str(profile_to.with_suffix(".pstats")))
        import pstats

        with profile_to.open("w") as handle:
            stats = pstats.Stats(profiler, stream=handle)
            stats.sort_stats("tottime").print_stats(25)
            stats.sort_stats("cumulative").print_stats(30)
    total = applied + folded
    from kpiflow.projections import bulk

    started = time.perf_counter()
    built = KpiEngine(DEFAULT_DEFINITION, tz)
    bulk.build(store, built)
    bulk_rows = built.rows()
    bulk_seconds = time.perf_counter() - started
    return {
        "events": events,
        "rows": len(rows),
        "per_record_seconds": round(total, 3),
        "per_record_rate": round(events / total, 1),
        "bulk_same_rows": bulk_rows == rows,
        "arrow_scan_seconds": round(scan, 3),
        "arrow_scan_rate": round(scanned / scan, 1),
        "read_records_seconds": round(read, 3),
        "read_records_rate": round(read_only / read, 1),
        "read_and_apply_seconds": round(applied, 3),
        "rows_seconds": round(folded, 3),
        "seconds": round(bulk_seconds, 3),
        "rate": round(events / bulk_seconds, 1),
        "profiled": profiler is not None,
    }


def run_rebuild(data_dir: Path, tz_name: str, log_path: Path, profile_to: Path | None) -> dict:
    import subprocess

    argv = [sys.executable, str(Path(__file__).resolve()), "_rebuild", str(data_dir), tz_name]
    if profile_to is not None:
        argv.append(str(profile_to))
    with log_path.open("wb") as log:
        done = subprocess.run(argv, stdout=subprocess.PIPE, stderr=log, timeout=3600, check=False)
    lines = [line for line in done.stdout.decode().splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"rebuild failed ({done.returncode}): see {log_path}")
    return json.loads(lines[-1])


# -- 3. latency at a steady rate ----------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


class KafkaTap(threading.Thread):
    """A consumer on the events topic (own group, from the end) noting when each marker arrives."""

    def __init__(self, settings, prefix: bytes) -> None:
        super().__init__(daemon=True)
        from confluent_kafka import Consumer

        self.prefix = prefix
        self.seen: dict[str, float] = {}
        self.stopping = False
        self.assigned = threading.Event()
        self.consumer = Consumer(
            settings.kafka.confluent_config()
            | {
                "group.id": f"bench-tap-{uuid.uuid4().hex[:8]}",
                "enable.auto.commit": False,
                "auto.offset.reset": "latest",
                "fetch.wait.max.ms": 10,
            }
        )
        self.consumer.subscribe(
            [settings.kafka.events_topic], on_assign=lambda c, p: self.assigned.set()
        )

    def run(self) -> None:
        while not self.stopping:
            msg = self.consumer.poll(0.05)
            if msg is None or msg.error():
                continue
            key = msg.key() or b""
            if key.startswith(self.prefix):
                self.seen.setdefault(key.decode(), time.monotonic())
        self.consumer.close()


class Poller(threading.Thread):
    """Polls kpi_values for the markers not seen yet, as a report or dashboard would."""

    def __init__(self, store, interval: float) -> None:
        super().__init__(daemon=True)
        self.store = store
        self.interval = interval
        self.pending: dict[str, float] = {}
        self.seen: dict[str, float] = {}
        self.queries = 0
        self.query_seconds = 0.0
        self.lock = threading.Lock()
        self.stopping = False

    def add(self, rep_id: str, at: float) -> None:
        with self.lock:
            self.pending[rep_id] = at

    def run(self) -> None:
        while not self.stopping:
            with self.lock:
                ids = list(self.pending)
            if ids:
                started = time.monotonic()
                found = self.store.rows(MARKER_KPI_SQL, {"ids": ids})
                now = time.monotonic()
                self.queries += 1
                self.query_seconds += now - started
                with self.lock:
                    for row in found:
                        if self.pending.pop(row["dimension"], None) is not None:
                            self.seen[row["dimension"]] = now
            time.sleep(self.interval)


def marker_event(rep_id: str) -> dict:
    return {
        "event_id": str(uuid.uuid4()),
        "event_type": "activity.logged",
        "schema_version": 1,
        "occurred_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "source": "bench",
        "rep_id": rep_id,
        "team_id": "team-bench",
        "activity_type": "call",
        "direction": "outbound",
    }


def latency(
    settings,
    events: int,
    rate: float,
    seconds: float,
    markers_per_second: float,
    poll_interval: float,
) -> dict:
    from kpiflow.events.envelope import aggregate_key
    from kpiflow.projections.store import open_store
    from kpiflow.streams.producer import EventPublisher
    from kpiflow.streams.simulator import simulate_live

    store = open_store(settings, migrate=False)
    say(f"latency: {type(store).__name__} at {getattr(store, 'url', settings.clickhouse_dsn)}")
    tag = uuid.uuid4().hex[:6]
    prefix = f"lat-{tag}-"
    tap = KafkaTap(settings, prefix.encode())
    tap.start()
    if not tap.assigned.wait(30):
        raise SystemExit("the Kafka tap got no partitions in 30 s")
    poller = Poller(store, poll_interval)
    poller.start()
    publisher = EventPublisher(settings)
    live = simulate_live(quarter_config(events), datetime.now(UTC), 1000.0)
    published: dict[str, float] = {}
    published_wall: dict[str, float] = {}
    sent = 0
    started = time.monotonic()
    next_marker = started + 1.0 / markers_per_second
    count = 0
    while (now := time.monotonic()) - started < seconds:
        due = int((now - started) * rate)
        while sent < due:
            _, event = next(live)
            publisher.send_valid(
                json.dumps(event, separators=(",", ":")).encode(), aggregate_key(event)
            )
            sent += 1
        if now >= next_marker:
            rep_id = f"{prefix}{count:05d}"
            count += 1
            at = time.monotonic()
            published_wall[rep_id] = time.time()
            publisher.send_valid(marker_event(rep_id), rep_id)
            published[rep_id] = at
            poller.add(rep_id, at)
            next_marker += 1.0 / markers_per_second
        time.sleep(0.002)
    publisher.flush()
    elapsed = time.monotonic() - started
    deadline = time.monotonic() + 20
    while poller.pending and time.monotonic() < deadline:
        time.sleep(0.1)
    poller.stopping = tap.stopping = True
    poller.join(5)
    tap.join(5)
    visible = [poller.seen[r] - published[r] for r in published if r in poller.seen]
    delivered = [tap.seen[r] - published[r] for r in published if r in tap.seen]
    out = {
        "rate_target": rate,
        "rate_published": round((sent + count) / elapsed, 1),
        "seconds": round(elapsed, 1),
        "markers": len(published),
        "markers_not_visible": len(published) - len(visible),
        "poll_interval": poll_interval,
        "poll_query_ms": round(1000 * poller.query_seconds / max(poller.queries, 1), 1),
    }
    if visible:
        out |= {
            "p50": round(percentile(visible, 50), 3),
            "p99": round(percentile(visible, 99), 3),
            "max": round(max(visible), 3),
        }
    if delivered:
        out |= {
            "kafka_p50": round(percentile(delivered, 50), 3),
            "kafka_p99": round(percentile(delivered, 99), 3),
        }
    # latency by publish time (seconds into the phase), to see whether a queue builds up
    out["samples"] = [
        [round(published[r] - started, 2), round(poller.seen[r] - published[r], 3)]
        for r in published
        if r in poller.seen
    ]
    thirds = [
        [v for t, v in out["samples"] if k * seconds / 3 <= t < (k + 1) * seconds / 3]
        for k in range(3)
    ]
    out["p50_by_third"] = [round(percentile(v, 50), 3) if v else None for v in thirds]
    out["stages"] = stages(
        store, published_wall, {r: poller.seen[r] - published[r] for r in poller.seen}
    )
    return out


def stages(store, published_wall: dict[str, float], visible: dict[str, float]) -> dict:
    """Where each marker's latency went, from ClickHouse's stamps (same machine clock):
    publish -> raw-log insert (ingested_at) -> first kpi_rows write (updated_at) -> seen."""
    ids = list(published_wall)
    raw = {
        r["rep_id"]: r["t"] / 1e6
        for r in store.rows(
            "SELECT rep_id, toUnixTimestamp64Micro(min(ingested_at)) AS t FROM {db}.raw_event_log "
            "WHERE rep_id IN {ids:Array(String)} GROUP BY rep_id",
            {"ids": ids},
        )
    }
    kpi = {
        r["dimension"]: r["t"] / 1e6
        for r in store.rows(
            "SELECT dimension, toUnixTimestamp64Micro(min(updated_at)) AS t FROM {db}.kpi_rows "
            "WHERE dimension_kind = 'rep' AND dimension IN {ids:Array(String)} GROUP BY dimension",
            {"ids": ids},
        )
    }
    to_raw, to_kpi, to_seen = [], [], []
    for rep_id, at in published_wall.items():
        if rep_id in raw and rep_id in kpi and rep_id in visible:
            to_raw.append(raw[rep_id] - at)
            to_kpi.append(kpi[rep_id] - raw[rep_id])
            to_seen.append(visible[rep_id] - (kpi[rep_id] - at))
    if not to_raw:
        return {}
    return {
        name: {"p50": round(percentile(v, 50), 3), "p99": round(percentile(v, 99), 3)}
        for name, v in (
            ("publish_to_raw_log", to_raw),
            ("raw_log_to_kpi_rows", to_kpi),
            ("kpi_rows_to_report", to_seen),
        )
    }


# -- the run ------------------------------------------------------------------------------


def measure(bootstrap: str, work: Path, args) -> dict:
    tag = new_tag()
    env = pipeline_env(bootstrap, work / "worker", tag)
    if args.batch_seconds is not None:  # every contender batches alike (common.run_peer)
        env["KPIFLOW_BATCH_SECONDS"] = str(args.batch_seconds)
    settings = settings_for(env)
    k = settings.kafka
    create_topics(bootstrap, {k.events_topic: PARTITIONS, k.dlq_topic: 1})
    say(f"publishing a simulated quarter of ~{args.events:,} events to {k.events_topic}")
    published = publish_quarter(settings, args.events)
    say(f"published {published.events:,} events in {published.seconds:.1f}s")
    n = published.events
    figures: dict = {
        "events": n,
        "activities": published.activities,
        "partitions": PARTITIONS,
        "batch_size": settings.pipeline.batch_size,
        "batch_seconds": settings.pipeline.batch_seconds,
        "timezone": settings.pipeline.timezone,
        "load_average": {},
    }

    figures["load_average"]["ceiling"] = round(load_average(), 2)
    say("1. ceiling: bare confluent-kafka consumer + KPI engine + kpi_rows")
    figures["ceiling"] = run_peer(
        "ceiling",
        settings,
        work / "ceiling",
        n,
        f"bench-ceiling-{tag}",
        work / "ceiling.log",
        timeout=7200,
    )
    figures["load_average"]["rebuild"] = round(load_average(), 2)
    say("2. bulk rebuild from the ceiling's raw log")
    profile_to = Path(args.profile_rebuild) if args.profile_rebuild else None
    figures["rebuild"] = run_rebuild(
        work / "ceiling", settings.pipeline.timezone, work / "rebuild.log", profile_to
    )
    if not args.skip_quix:
        figures["load_average"]["quix"] = round(load_average(), 2)
        say("1. quix: Quix Streams application + the same sink work")
        figures["quix"] = run_peer(
            "quix", settings, work / "quix", n, f"bench-quix-{tag}", work / "quix.log", timeout=7200
        )

    figures["load_average"]["kpiflow"] = round(load_average(), 2)
    say("1. kpiflow worker (ingest + projector)")
    worker = WorkerProcess(env, work / "worker.log")
    try:
        figures["kpiflow_ready_seconds"] = round(worker.wait_ready(), 1)
        worker.wait_raw(n, timeout=7200)
        worker.wait_projected(n, timeout=7200)
        gateway = worker.gateway()
        figures["kpiflow"] = raw_span(gateway, through_projections=True) | {
            "checksum": checksum(gateway)
        }
        if args.latency_seconds > 0:
            figures["load_average"]["latency"] = round(load_average(), 2)
            say(f"3. latency at {args.latency_rate:,.0f} events/s for {args.latency_seconds:.0f} s")
            figures["latency"] = latency(
                settings,
                args.events,
                args.latency_rate,
                args.latency_seconds,
                args.markers_per_second,
                args.poll_interval,
            )
        figures["kpiflow_state"] = worker.state()
    finally:
        worker.stop()

    ceiling = figures["ceiling"]["rate"]
    figures["ratios"] = {
        "kpiflow_vs_ceiling": ratio(figures["kpiflow"]["rate"], ceiling),
        "rebuild_vs_arrow_scan": ratio(
            figures["rebuild"]["rate"], figures["rebuild"]["arrow_scan_rate"]
        ),
        "rebuild_vs_aim": ratio(figures["rebuild"]["rate"], AIM_REBUILD),
    }
    sums = [figures["ceiling"]["checksum"], figures["kpiflow"]["checksum"]]
    if "quix" in figures:
        figures["ratios"]["quix_vs_ceiling"] = ratio(figures["quix"]["rate"], ceiling)
        figures["ratios"]["kpiflow_vs_quix"] = ratio(
            figures["kpiflow"]["rate"], figures["quix"]["rate"]
        )
        sums.append(figures["quix"]["checksum"])
    figures["projections_agree"] = all(s == sums[0] for s in sums)
    if "latency" in figures and "p99" in figures["latency"]:
        figures["ratios"]["p99_vs_aim"] = ratio(figures["latency"]["p99"], AIM_P99_SECONDS)
    return figures


def report(f: dict) -> None:
    c, w, r = f["ceiling"], f["kpiflow"], f["ratios"]
    print(
        f"e2e bench: {f['events']:,} events ({f['activities']:,} activities), "
        f"{f['partitions']} partitions, batches of {f['batch_size']}, time zone {f['timezone']}"
    )
    print("1. sustained events/s, first raw-log insert -> last kpi_rows write")
    print(
        figure_line(
            "ceiling: bare consumer + engine", c["rate"], "events/s", f"{c['seconds']:.1f} s"
        )
    )
    if "quix" in f:
        q = f["quix"]
        note = f"{q['seconds']:.1f} s, {r['quix_vs_ceiling']:.2f} x ceiling"
        print(figure_line("quix: Quix Streams app, same sink work", q["rate"], "events/s", note))
    note = f"{w['seconds']:.1f} s, {r['kpiflow_vs_ceiling']:.2f} x ceiling"
    note += f" (aim >= {AIM_SHARE_OF_CEILING:.2f})"
    print(figure_line("kpiflow: worker (ingest agent + projector)", w["rate"], "events/s", note))
    if "quix" in f:
        print(figure_line("kpiflow / quix", r["kpiflow_vs_quix"], ""))
    agree = "yes" if f["projections_agree"] else "NO"
    print(
        f"   final projections identical in every contender: {agree} "
        f"({w['checksum']['rows']:,} rows)"
    )
    b = f["rebuild"]
    profiled = " (profiled)" if b["profiled"] else ""
    print(f"2. bulk rebuild of {b['events']:,} raw rows -> {b['rows']:,} KPI rows{profiled}")
    print(
        figure_line(
            "Arrow scan of the raw log (floor)",
            b["arrow_scan_rate"],
            "rows/s",
            f"{b['arrow_scan_seconds']:.1f} s",
        )
    )
    print(
        figure_line(
            "read_all_records alone",
            b["read_records_rate"],
            "events/s",
            f"{b['read_records_seconds']:.1f} s",
        )
    )
    print(
        figure_line(
            "per record: read_all_records + apply + rows()",
            b["per_record_rate"],
            "events/s",
            f"{b['per_record_seconds']:.1f} s (read+apply {b['read_and_apply_seconds']:.1f}, "
            f"rows {b['rows_seconds']:.1f})",
        )
    )
    note = (
        f"{b['seconds']:.1f} s, {r['rebuild_vs_aim']:.2f} x aim of {AIM_REBUILD:,}, same rows: "
        f"{'yes' if b['bulk_same_rows'] else 'NO'}"
    )
    print(figure_line("bulk build (projections.bulk) + rows()", b["rate"], "events/s", note))
    lat = f.get("latency")
    if not lat:
        return
    print(
        f"3. latency publish -> visible in kpi_values: {lat['rate_published']:,.0f} events/s for "
        f"{lat['seconds']:.0f} s, {lat['markers']} markers, kpi_values polled every "
        f"{lat['poll_interval']:.2f} s ({lat['poll_query_ms']:.0f} ms a query)"
    )
    if "p99" in lat:
        print(figure_line("kpiflow p50", lat["p50"], "s"))
        note = f"{r['p99_vs_aim']:.2f} x aim of {AIM_P99_SECONDS:.0f} s; max {lat['max']:.3f} s, "
        note += f"not visible {lat['markers_not_visible']}"
        print(figure_line("kpiflow p99", lat["p99"], "s", note))
    if lat.get("p50_by_third"):
        thirds = " / ".join(f"{v:.3f}" if v is not None else "-" for v in lat["p50_by_third"])
        print(f"   p50 in the first, second and last third of the phase: {thirds} s")
    if "kafka_p50" in lat:
        print(figure_line("Kafka delivery alone (tap consumer) p50", lat["kafka_p50"], "s"))
        print(figure_line("Kafka delivery alone (tap consumer) p99", lat["kafka_p99"], "s"))
    for name, v in (lat.get("stages") or {}).items():
        label = "stage " + name.replace("_", " ")
        print(figure_line(label + " p50", v["p50"], "s", f"p99 {v['p99']:.3f} s"))


def main(argv: list[str] | None = None) -> dict | None:
    if argv is None and sys.argv[1:2] == ["_rebuild"]:
        profile_to = Path(sys.argv[4]) if len(sys.argv) > 4 else None
        print(json.dumps(rebuild(Path(sys.argv[2]), sys.argv[3], profile_to)), flush=True)
        return None
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--events", type=int, default=1_000_000, help="events of the quarter (about)"
    )
    parser.add_argument(
        "--latency-seconds", type=float, default=60.0, help="0 skips the latency phase"
    )
    parser.add_argument(
        "--latency-rate", type=float, default=2000.0, help="events/s of the latency phase"
    )
    parser.add_argument("--markers-per-second", type=float, default=5.0)
    parser.add_argument(
        "--poll-interval", type=float, default=0.1, help="seconds between kpi_values polls"
    )
    parser.add_argument(
        "--batch-seconds",
        type=float,
        help=f"the micro-batch wait of the worker and the peers (default {BATCH_SECONDS})",
    )
    parser.add_argument("--skip-quix", action="store_true", help="no Quix Streams peer")
    parser.add_argument(
        "--profile-rebuild", metavar="FILE", help="cProfile the rebuild, text to FILE"
    )
    add_common_options(parser)
    args = parser.parse_args(argv)
    require_quix(args.skip_quix)
    with work_dir(args.keep) as work, kafka_broker(args.bootstrap, work) as bootstrap:
        figures = measure(bootstrap, work, args)
    report(figures)
    write_json(args.json, figures)
    return figures


if __name__ == "__main__":
    main()
