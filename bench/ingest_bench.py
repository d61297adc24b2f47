"""Ingest rate of the raw-log path, as a ratio against a bare confluent-kafka consumer.

    python bench/ingest_bench.py [--events 200000] [--bootstrap HOST:PORT] [--json FILE]

Publishes a simulated quarter of about N events (50 reps in 10 teams) to a fresh 6-partition
topic, then, one after the other so they never share the 2 cores:
- baseline: a bare confluent-kafka consumer (bench/peers.py `ingest`) that polls batches of
  KPIFLOW_BATCH_SIZE, validates each message with `events.parse_event`, builds the rows with
  `kpiflow.projections.rawlog.row`, inserts them into its own embedded ClickHouse with the batch's
  deduplication token and commits after each insert;
- kpiflow: `kpiflow worker` (its own data dir and consumer group) with KPIFLOW_PROJECT=false, so
  only the ingest agent runs: triage (with the duplicate look-up), dead letters, raw-log insert.
Both are timed from their first raw-log insert to their last (ClickHouse's `ingested_at`), so
start-up and group joins do not count. Prints events/s of both and the ratio kpiflow/baseline.
With --repeat R both run R times, alternating (fresh group and data dir each time), and the best
rate of each is kept: the machine may be shared with other work.
With --floors the transports are also timed alone (bare poll + commit; Faust handing batches to an
agent that does nothing), to tell the framework's share from the work's.
Without --bootstrap a broker of its own is started (kpiflow.runtime.kafka) and stopped after.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (  # noqa: E402
    PARTITIONS,
    WorkerProcess,
    add_common_options,
    create_topics,
    figure_line,
    free_port,
    kafka_broker,
    load_average,
    new_tag,
    pipeline_env,
    publish_quarter,
    ratio,
    raw_span,
    run_peer,
    say,
    settings_for,
    work_dir,
    write_json,
)


def floors(settings, env: dict, work: Path, events: int, tag: str) -> dict:
    """Transport alone: the bare consumer's polling + commits, and Faust handing the same
    batches to an agent whose process() does nothing (bench/profile_worker.py what-if)."""
    from bench.profile_worker import delivery_rate

    consume = run_peer(
        "consume",
        settings,
        work / "consume",
        events,
        f"bench-consume-{tag}",
        work / "consume.log",
        timeout=1800,
    )
    argv = [
        sys.executable,
        str(Path(__file__).resolve().parent / "profile_worker.py"),
        "_worker",
        str(work / "faust-noop"),
        "noop-process",
        "plain",
    ]
    noop_env = env | {
        "KPIFLOW_PROJECT": "false",
        "KPIFLOW_DATA_DIR": str(work / "faust-noop" / "data"),
        "KPIFLOW_KAFKA_CONSUMER_GROUP": f"kpiflow-bench-{tag}-noop",
        "KPIFLOW_WORKER_WEB_PORT": str(free_port()),
    }
    worker = WorkerProcess(noop_env, work / "faust-noop.log", argv=argv)
    try:
        worker.wait_ready()
        faust = delivery_rate(worker, events)
    finally:
        worker.stop()
    return {"consume": consume, "faust_noop": faust}


def measure(bootstrap: str, work: Path, events: int, repeat: int, with_floors: bool) -> dict:
    tag = new_tag()
    env = pipeline_env(bootstrap, work / "worker", tag)
    settings = settings_for(env)
    k = settings.kafka
    create_topics(bootstrap, {k.events_topic: PARTITIONS, k.dlq_topic: 1})
    say(f"publishing a simulated quarter of ~{events:,} events to {k.events_topic}")
    published = publish_quarter(settings, events)
    say(f"published {published.events:,} events in {published.seconds:.1f}s")
    rounds = []
    for n in range(1, repeat + 1):
        load_before = load_average()
        say(f"round {n}/{repeat}: baseline, bare confluent-kafka consumer -> raw log")
        baseline = run_peer(
            "ingest",
            settings,
            work / f"baseline-{n}",
            published.events,
            f"bench-bare-{tag}-{n}",
            work / f"baseline-{n}.log",
            timeout=1800,
        )
        say(f"round {n}/{repeat}: kpiflow worker, projections off (KPIFLOW_PROJECT=false)")
        worker_env = env | {
            "KPIFLOW_PROJECT": "false",
            "KPIFLOW_DATA_DIR": str(work / f"worker-{n}" / "data"),
            "KPIFLOW_KAFKA_CONSUMER_GROUP": f"kpiflow-bench-{tag}-{n}",
            "KPIFLOW_WORKER_WEB_PORT": str(free_port()),
        }
        worker = WorkerProcess(worker_env, work / f"worker-{n}.log")
        try:
            ready = worker.wait_ready()
            worker.wait_raw(published.events, timeout=1800)
            kpiflow = raw_span(worker.gateway())
            kpiflow["ready_seconds"] = round(ready, 1)
            kpiflow["ingest"] = worker.state()["ingest"]
        finally:
            worker.stop()
        rounds.append(
            {
                "baseline": baseline,
                "kpiflow": kpiflow,
                "ratio": ratio(kpiflow["rate"], baseline["rate"]),
                "load_average_before": round(load_before, 2),
            }
        )
    extra = floors(settings, env, work, published.events, tag) if with_floors else {}
    best_baseline = max((r["baseline"] for r in rounds), key=lambda b: b["rate"])
    best_kpiflow = max((r["kpiflow"] for r in rounds), key=lambda w: w["rate"])
    return {
        "events": published.events,
        "partitions": PARTITIONS,
        "batch_size": settings.pipeline.batch_size,
        "baseline": best_baseline,
        "kpiflow": best_kpiflow,
        "ratio": ratio(best_kpiflow["rate"], best_baseline["rate"]),
        "rounds": rounds,
        **extra,
    }


def report(figures: dict) -> None:
    b, w = figures["baseline"], figures["kpiflow"]
    print(
        f"ingest bench: {figures['events']:,} events, {figures['partitions']} partitions, "
        f"batches of {figures['batch_size']}"
    )
    print(
        figure_line(
            "baseline: bare confluent-kafka consumer -> raw log",
            b["rate"],
            "events/s",
            f"{b['seconds']:.1f} s",
        )
    )
    print(
        figure_line(
            "kpiflow: worker ingest agent (projections off)",
            w["rate"],
            "events/s",
            f"{w['seconds']:.1f} s",
        )
    )
    print(figure_line("ratio kpiflow / baseline", figures["ratio"], ""))
    if "consume" in figures:
        print(
            figure_line(
                "floor: bare consumer, poll + commit only", figures["consume"]["rate"], "events/s"
            )
        )
        print(
            figure_line(
                "floor: Faust handing batches to a no-op agent",
                figures["faust_noop"]["rate"],
                "events/s",
            )
        )
    if len(figures["rounds"]) > 1:
        rounds = ", ".join(
            f"{r['kpiflow']['rate']:,.0f} / {r['baseline']['rate']:,.0f}" for r in figures["rounds"]
        )
        print(f"   best of {len(figures['rounds'])} rounds; kpiflow / baseline per round: {rounds}")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=200_000, help="events to publish (about)")
    parser.add_argument(
        "--repeat", type=int, default=1, help="rounds of both (best of each is kept)"
    )
    parser.add_argument(
        "--floors",
        action="store_true",
        help="also time the transports alone: bare poll+commit, Faust to a no-op agent",
    )
    add_common_options(parser)
    args = parser.parse_args(argv)
    with work_dir(args.keep) as work, kafka_broker(args.bootstrap, work) as bootstrap:
        figures = measure(bootstrap, work, args.events, args.repeat, args.floors)
    report(figures)
    write_json(args.json, figures)
    return figures


if __name__ == "__main__":
    main()
