"""Where the worker's time goes: the real `kpiflow worker`, profiled on both of its threads.

    python bench/profile_worker.py [--events 100000] [--project] [--bootstrap HOST:PORT]

Publishes a simulated quarter to a fresh topic, then runs the worker in a process of its own
(`streams.worker.run_worker`, unchanged) with two cProfile profilers:
- the event-loop thread (Faust, aiokafka, the ingest agent, triage), from start to stop;
- the ClickHouse thread (every call the worker makes through `ClickHouseIO.run`), with the wall
  time and count of each function it ran there (existing_copies, insert, projector.step, ...).
It stops the worker once the raw log (and with --project the projections) hold every event and
prints both profiles' top functions; the .pstats files and the text go to bench/results/.
Profiling slows the worker down (cProfile costs per Python call): read shares, not rates.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (  # noqa: E402
    PARTITIONS,
    RESULTS_DIR,
    WorkerProcess,
    add_common_options,
    child_pids,
    create_topics,
    kafka_broker,
    new_tag,
    pipeline_env,
    publish_quarter,
    raw_span,
    say,
    settings_for,
    work_dir,
)

WHAT_IFS = {
    "none": "the worker as it is",
    "no-lookup": "existing_copies() answers {} without a query (no cross-batch duplicate check)",
    "noop-process": "IngestService.process() returns at once (Faust + aiokafka delivery alone)",
    "faust-acks": "a batch is acknowledged through Faust's Event.ack, event by event",
    "faust-getmany": "Faust's getmany (the partition's end offset read for every message)",
}


def apply_what_if(names: str) -> None:
    """Diagnostics only: replace steps (comma-separated names) to see what the rest costs."""
    for name in names.split(","):
        _apply_one(name)


def _apply_one(name: str) -> None:
    if name == "no-lookup":
        from kpiflow.streams import ingest

        ingest.existing_copies = lambda store, ids: {}
    elif name == "noop-process":
        from kpiflow.projections.rawlog import Inserted
        from kpiflow.streams.ingest import IngestService

        async def process(self, batch) -> Inserted:
            self.metrics.batches += 1
            self.metrics.accepted += len(batch)
            return Inserted(None, {})  # nothing in the raw log: the projector has nothing

        IngestService.process = process
    elif name == "faust-acks":
        from kpiflow.streams.kafka_transport import Consumer

        def ack_events(self, events):
            return [event.message for event in events if event.ack()]

        Consumer.ack_events = ack_events
    elif name == "faust-getmany":
        from faust.transport.consumer import Consumer as FaustConsumer

        from kpiflow.streams.kafka_transport import Consumer

        Consumer.getmany = FaustConsumer.getmany


def profiled_worker(out: Path, what_if: str, profile: bool) -> None:
    """Run the worker with both threads profiled; write the profiles at exit."""
    import atexit
    import cProfile
    import functools
    import pstats
    from collections import defaultdict

    from kpiflow.projections.store import ClickHouseStore
    from kpiflow.settings import Settings
    from kpiflow.streams.clickhouse_io import ClickHouseIO
    from kpiflow.streams.worker import run_worker

    loop_profile = cProfile.Profile()
    clickhouse_profile = cProfile.Profile()
    calls: dict[str, list] = defaultdict(lambda: [0, 0.0])
    original_run = ClickHouseIO.run

    async def run(self, fn, *args):
        name = getattr(fn, "__qualname__", repr(fn))

        def timed(*a):
            started = time.perf_counter()
            if profile:
                clickhouse_profile.enable()
            try:
                return fn(*a)
            finally:
                if profile:
                    clickhouse_profile.disable()
                entry = calls[name]
                entry[0] += 1
                entry[1] += time.perf_counter() - started

        return await original_run(self, timed, *args)

    ClickHouseIO.run = run
    queries: dict[str, list] = defaultdict(lambda: [0, 0.0])

    def timed_method(name: str):
        original = getattr(ClickHouseStore, name)

        @functools.wraps(original)
        def wrapper(self, first, *args, **kwargs):
            label = f"insert {first}" if name == "insert" else " ".join(str(first).split())[:90]
            began = time.perf_counter()
            try:
                return original(self, first, *args, **kwargs)
            finally:
                entry = queries[label]
                entry[0] += 1
                entry[1] += time.perf_counter() - began

        setattr(ClickHouseStore, name, wrapper)

    for method in ("rows", "arrow", "command", "insert"):
        timed_method(method)
    started = time.perf_counter()

    def dump() -> None:
        loop_profile.disable()
        out.mkdir(parents=True, exist_ok=True)
        (out / "calls.json").write_text(
            json.dumps(
                {
                    "cpu_seconds": cpu_by_thread(),
                    "wall_seconds": time.perf_counter() - started,
                    "calls": {
                        k: {"count": v[0], "seconds": round(v[1], 3)} for k, v in calls.items()
                    },
                    "queries": {
                        k: {"count": v[0], "seconds": round(v[1], 3)} for k, v in queries.items()
                    },
                },
                indent=2,
            )
        )
        if not profile:
            return
        loop_profile.dump_stats(out / "loop.pstats")
        clickhouse_profile.dump_stats(out / "clickhouse.pstats")
        for name in ("loop", "clickhouse"):
            with (out / f"{name}.txt").open("w") as handle:
                stats = pstats.Stats(str(out / f"{name}.pstats"), stream=handle)
                stats.sort_stats("tottime").print_stats(30)
                stats.sort_stats("cumulative").print_stats(40)

    apply_what_if(what_if)
    atexit.register(dump)
    sys.argv = ["kpiflow-worker"]
    if profile:
        loop_profile.enable()
    run_worker(Settings(), "warning")


def _cpu_seconds(stat_path: Path) -> tuple[str, float]:
    """(name, user + system CPU seconds) of a /proc stat file."""
    import os

    text = stat_path.read_text()
    name = text[text.index("(") + 1 : text.rindex(")")]
    fields = text[text.rindex(")") + 2 :].split()
    return name, (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_by_thread() -> dict[str, float]:
    """CPU seconds of each thread of this process (Python's thread names where Python started
    it, else the OS name: chdb's and librdkafka's own threads) and of each child process."""
    import os
    import threading
    from collections import Counter

    names = {t.native_id: t.name for t in threading.enumerate()}
    out: Counter[str] = Counter()
    for task in Path("/proc/self/task").iterdir():
        try:
            os_name, seconds = _cpu_seconds(task / "stat")
        except OSError:
            continue
        name = names.get(int(task.name), os_name)
        out[name.split("_")[0] if name.startswith("ThreadPoolExecutor") else name] += seconds
    for pid in child_pids():
        try:
            os_name, seconds = _cpu_seconds(Path(f"/proc/{pid}/stat"))
        except OSError:
            continue
        out[f"child process {pid}"] += seconds
    _, whole = _cpu_seconds(Path("/proc/self/stat"))  # also the threads that have ended
    out["threads that ended (chdb's query threads ...)"] = max(0.0, whole - sum(out.values()))
    ended = os.times()
    out["child processes that ended (the triage child)"] = (
        ended.children_user + ended.children_system
    )
    return {k: round(v, 2) for k, v in out.most_common()}


def delivery_rate(worker: WorkerProcess, expected: int, timeout: float = 3600) -> dict:
    """Events/s the agent is handed (no raw log to time): the worker's counter, polled."""
    deadline = time.monotonic() + timeout
    first = None
    while time.monotonic() < deadline:
        accepted = (worker.state() or {"ingest": {"accepted": 0}})["ingest"]["accepted"]
        now = time.monotonic()
        if accepted and first is None:
            first = (now, accepted)
        if accepted >= expected:
            seconds = now - first[0]
            return {
                "events": accepted,
                "seconds": round(seconds, 3),
                "rate": round((accepted - first[1]) / seconds, 1) if seconds else 0.0,
            }
        time.sleep(0.05)
    raise SystemExit(f"the agent was not handed {expected} events in {timeout:.0f}s")


def summary(out: Path, top: int = 18, profiles: bool = True) -> str:
    import pstats

    lines = []
    calls = json.loads((out / "calls.json").read_text())
    wall = calls["wall_seconds"]
    lines.append(f"ClickHouse thread, wall time per call site (worker ran {wall:.1f} s):")
    for name, c in sorted(calls["calls"].items(), key=lambda kv: -kv[1]["seconds"]):
        lines.append(f"  {name:<48} {c['count']:>6} calls {c['seconds']:>8.2f} s")
    cpu = calls.get("cpu_seconds", {})
    lines.append(f"CPU seconds by thread and child process ({sum(cpu.values()):.1f} s in all):")
    for name, seconds in list(cpu.items())[:10]:
        lines.append(f"  {name:<48} {seconds:>8.2f} s")
    lines.append("ClickHouse statements (wall time, all callers; the gateway's too):")
    for name, c in sorted(calls["queries"].items(), key=lambda kv: -kv[1]["seconds"])[:12]:
        lines.append(f"  {c['seconds']:>8.2f} s {c['count']:>6}x  {name}")
    for name in ("loop", "clickhouse") if profiles else ():
        try:
            stats = pstats.Stats(str(out / f"{name}.pstats"))
        except TypeError:  # nothing ran on that thread (the no-op what-if's ClickHouse thread)
            lines.append(f"\n{name} thread: no calls profiled")
            continue
        total = stats.total_tt
        lines.append(f"\n{name} thread, top functions by own time (total profiled {total:.1f} s):")
        rows = sorted(stats.stats.items(), key=lambda kv: -kv[1][2])[:top]
        for (filename, line, func), (_cc, nc, tt, ct, _callers) in rows:
            where = f"{Path(filename).name}:{line}" if line else filename
            lines.append(f"  {tt:>7.2f} s own {ct:>7.2f} s cum {nc:>9} calls  {func} ({where})")
    return "\n".join(lines)


def _what_ifs(text: str) -> str:
    unknown = [name for name in text.split(",") if name not in WHAT_IFS]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown what-if {unknown[0]!r}: {', '.join(WHAT_IFS)}")
    return text


def main(argv: list[str] | None = None) -> None:
    if argv is None and sys.argv[1:2] == ["_worker"]:
        profiled_worker(Path(sys.argv[2]), sys.argv[3], sys.argv[4] == "profile")
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--project", action="store_true", help="keep the projector on")
    parser.add_argument(
        "--what-if",
        type=_what_ifs,
        default="none",
        help="diagnostics, comma-separated: " + "; ".join(f"{k}: {v}" for k, v in WHAT_IFS.items()),
    )
    parser.add_argument("--no-profile", action="store_true", help="time the call sites only")
    add_common_options(parser)
    args = parser.parse_args(argv)
    label = "worker-project" if args.project else "worker-ingest"
    if args.what_if != "none":
        label += "-" + args.what_if.replace(",", "-")
    if args.no_profile:
        label += "-unprofiled"
    out = RESULTS_DIR / f"profile-{label}"
    with work_dir(args.keep) as work, kafka_broker(args.bootstrap, work) as bootstrap:
        tag = new_tag()
        env = pipeline_env(bootstrap, work / "worker", tag)
        if not args.project:
            env["KPIFLOW_PROJECT"] = "false"
        settings = settings_for(env)
        create_topics(
            bootstrap, {settings.kafka.events_topic: PARTITIONS, settings.kafka.dlq_topic: 1}
        )
        published = publish_quarter(settings, args.events)
        say(f"published {published.events:,} events; starting the profiled worker")
        argv = [
            sys.executable,
            str(Path(__file__).resolve()),
            "_worker",
            str(out),
            args.what_if,
            "plain" if args.no_profile else "profile",
        ]
        worker = WorkerProcess(env, work / "worker.log", argv=argv)
        try:
            worker.wait_ready()
            if "noop-process" in args.what_if.split(","):
                span = delivery_rate(worker, published.events)
            else:
                worker.wait_raw(published.events, timeout=3600)
                if args.project:
                    worker.wait_projected(published.events, timeout=3600)
                span = raw_span(worker.gateway(), through_projections=args.project)
        finally:
            worker.stop(timeout=120)
    under = "without the profiler" if args.no_profile else "under the profiler"
    text = f"{label}: {published.events:,} events, {span['rate']:,.0f} events/s {under}\n"
    text += summary(out, profiles=not args.no_profile)
    (out / "summary.txt").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
