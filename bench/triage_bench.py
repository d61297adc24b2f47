"""The worker's own cost per event before the raw log: triage, in-process, against json.loads.

    python bench/triage_bench.py [--events 40000] [--batch 2000] [--rounds 5] [--json FILE]

Builds the messages of a simulated quarter (50 reps in 10 teams, as the worker receives them:
compact JSON bytes, with a Kafka timestamp), then times, best of `--rounds`, on the same
messages in batches of `--batch`:
- baseline: `json.loads` of each message, the floor any validation pays;
- `streams.triage.triage`: the Limits, the pydantic models, the terminal-stage rule and the
  batch's duplicate check, as the ingest agent runs it on the event loop (no Kafka, no
  ClickHouse; the duplicate look-up in the raw log is not included);
- the worker's triage child (`streams.triage_process.TriageProcess`, the default), batch by batch
  over its socket, the raw-log rows coming back as Arrow, against `triage_rows` (the same rows
  built in-process, no pipe), and the child's memory after it (RSS, and the private part of it:
  most of the rest are the shared libraries it maps).
Prints microseconds per event and the ratios. Nothing is mocked: it is
the worker's own function on valid events; an invalid one would only add its reason.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import figure_line, load_average, quarter_config, ratio, write_json  # noqa: E402


def messages(events: int) -> list:
    from kpiflow.streams.coordinates import Coordinates
    from kpiflow.streams.simulator import simulate_history
    from kpiflow.streams.triage import Incoming

    now_ms = int(time.time() * 1000)
    out = []
    for event in simulate_history(quarter_config(events * 2)):
        value = json.dumps(event, separators=(",", ":")).encode()
        n = len(out)
        out.append(Incoming(value, Coordinates("sales.events", n % 6, n // 6), now_ms))
        if len(out) == events:
            break
    return out


def best_seconds(work: Callable[[], object], rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return best


def _memory_mb(pid: int) -> tuple[int, int]:
    """(VmRSS, RssAnon) of a process in MB. Linux (/proc)."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return int(fields["VmRSS"].split()[0]) // 1024, int(fields["RssAnon"].split()[0]) // 1024


def measure_child(batches: list, rounds: int) -> dict:
    """The triage child's time per event against `triage_rows` in-process, and its memory."""
    import asyncio

    from kpiflow.streams.triage import triage_rows
    from kpiflow.streams.triage_process import TriageProcess

    local = best_seconds(lambda: [triage_rows(b, "EUR", {}) for b in batches], rounds)
    child = TriageProcess("EUR", None)

    async def timed_rounds() -> float:
        best = float("inf")
        for _ in range(rounds + 1):  # the first warms the child up
            await child.load({})  # the terminal stages of the round before, forgotten
            started = time.perf_counter()
            for b in batches:
                await child.triage(b)
            best = min(best, time.perf_counter() - started)
        return best

    try:
        remote = asyncio.run(timed_rounds())
        rss, private = _memory_mb(child.pid)
    finally:
        child.close()
    n = sum(len(b) for b in batches)
    return {
        "triage_rows_us": round(local / n * 1e6, 2),
        "child_us": round(remote / n * 1e6, 2),
        "child_ratio": ratio(remote, local),
        "child_rss_mb": rss,
        "child_private_mb": private,
    }


def measure(events: int, batch: int, rounds: int) -> dict:
    from kpiflow.streams.triage import triage

    incoming = messages(events)
    values = [m.value for m in incoming]
    batches = [incoming[i : i + batch] for i in range(0, len(incoming), batch)]
    accepted = sum(len(triage(b, "EUR", {}).accepted) for b in batches)  # also warms up
    if accepted != len(incoming):
        raise SystemExit(f"{len(incoming) - accepted} simulated events were not accepted")
    load = load_average()
    baseline = best_seconds(lambda: [json.loads(v) for v in values], rounds)
    triaged = best_seconds(lambda: [triage(b, "EUR", {}) for b in batches], rounds)
    n = len(incoming)
    return {
        "events": n,
        "batch": batch,
        "rounds": rounds,
        "load_average_before": round(load, 2),
        "json_loads_us": round(baseline / n * 1e6, 2),
        "triage_us": round(triaged / n * 1e6, 2),
        "ratio": ratio(triaged, baseline),
        **measure_child(batches, rounds),
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=40_000)
    parser.add_argument("--batch", type=int, default=2000, help="messages per triage() call")
    parser.add_argument("--rounds", type=int, default=5, help="timed runs; the best is kept")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    figures = measure(args.events, args.batch, args.rounds)
    print(f"triage bench: {figures['events']:,} events in batches of {figures['batch']}")
    print(figure_line("baseline: json.loads per message", figures["json_loads_us"], "us/event"))
    print(figure_line("triage (Limits, models, rules)", figures["triage_us"], "us/event"))
    print(figure_line("ratio triage / json.loads", figures["ratio"], ""))
    print(figure_line("baseline: triage_rows in-process", figures["triage_rows_us"], "us/event"))
    print(figure_line("the triage child, over its socket", figures["child_us"], "us/event"))
    print(figure_line("ratio child / in-process", figures["child_ratio"], ""))
    print(
        figure_line(
            "the child's RSS after the rounds",
            figures["child_rss_mb"],
            "MB",
            f"{figures['child_private_mb']} MB of it private",
        )
    )
    write_json(args.json, figures)
    return figures


if __name__ == "__main__":
    main()
