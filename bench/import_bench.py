"""`kpiflow import deals` against `kpiflow publish` of the same events, one run.

    python bench/import_bench.py [--rows 100000] [--bootstrap HOST:PORT] [--json FILE]

Writes a synthetic opportunity export of N rows (50 owners in 10 teams, 5,000 accounts; about
30% won, 25% lost, the rest open; month-first dates in America/New_York), its mapping and its
sales-teams file, then, one after the other, each to a topic of its own on the same broker:
- import: `import_export` (read the CSV, derive the events, validate each as `publish` does,
  send them with the idempotent producer and flush), the work of `kpiflow import deals`;
- the baseline: the same events written as JSON Lines beforehand, then `publish_lines` (read,
  validate, send, flush), the work of `kpiflow publish FILE`.
Also times the import's dry run (read, derive, validate; no Kafka). Prints rows/s and events/s
and the ratio import / publish of events/s.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (  # noqa: E402
    add_common_options,
    create_topics,
    figure_line,
    kafka_broker,
    load_average,
    new_tag,
    pipeline_env,
    ratio,
    say,
    settings_for,
    work_dir,
    write_json,
)

MAPPING = """
source: bench-crm
dates: {order: month_first, timezone: America/New_York}
columns: {id: opportunity_id, owner: sales_agent, account: account, product: product,
          stage: deal_stage, created: engage_date, closed: close_date, amount: expected_value,
          close_value: close_value}
stages: {Engaging: qualified, Won: won, Lost: lost}
opened_stage: qualified
products: {GTXPro: GTX Pro}
kind: {rule: upsell_after_won}
team: {file: teams.csv, owner: sales_agent, team: manager}
"""
PRODUCTS = ("GTX Pro", "GTXPro", "GTX Basic", "MG Special", "MG Advanced", "GTK 500")


def write_export(base: Path, rows: int, seed: int = 7) -> tuple[Path, Path]:
    from datetime import date, timedelta

    rng = random.Random(seed)
    owners = [(f"Agent {t:02d}-{r}", f"Manager {t:02d}") for t in range(10) for r in range(5)]
    with (base / "teams.csv").open("w") as out:
        out.write("sales_agent,manager\n")
        out.writelines(f"{o},{m}\n" for o, m in owners)
    start = date(2024, 1, 1)
    export = base / "deals.csv"
    with export.open("w") as out:
        out.write(
            "opportunity_id,sales_agent,product,account,deal_stage,engage_date,close_date,"
            "expected_value,close_value\n"
        )
        for n in range(rows):
            owner = owners[rng.randrange(len(owners))][0]
            created = start + timedelta(days=rng.randrange(700))
            value = rng.randrange(50, 20_000)
            roll = rng.random()
            stage = "Won" if roll < 0.3 else "Lost" if roll < 0.55 else "Engaging"
            closed = close = ""
            if stage != "Engaging":
                closed = (created + timedelta(days=rng.randrange(1, 120))).strftime("%m/%d/%Y")
                close = str(value + rng.randrange(0, 500)) if stage == "Won" else "0"
            out.write(
                f"OPP-{n:07d},{owner},{PRODUCTS[n % len(PRODUCTS)]},ACC-{rng.randrange(5000)},"
                f"{stage},{created.strftime('%m/%d/%Y')},{closed},{value},{close}\n"
            )
    mapping = base / "deals.mapping.yaml"
    mapping.write_text(MAPPING)
    return export, mapping


class Collect:
    def __init__(self) -> None:
        self.values: list[bytes] = []

    def send_valid(self, value: bytes, key: str) -> None:
        self.values.append(value)

    def flush(self) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    add_common_options(parser)
    args = parser.parse_args()

    from kpiflow.streams.crm_import.run import import_export
    from kpiflow.streams.producer import publish_lines

    with work_dir(args.keep) as work, kafka_broker(args.bootstrap, work) as bootstrap:
        export, mapping = write_export(work, args.rows)
        tag = new_tag()
        envs = {
            name: pipeline_env(bootstrap, work / name, f"{tag}-{name}")
            for name in ("import", "publish")
        }
        settings = {name: settings_for(env) for name, env in envs.items()}
        for s in settings.values():
            create_topics(
                s.kafka.bootstrap_servers, {s.kafka.events_topic: 6, s.kafka.dlq_topic: 1}
            )
        say(f"{args.rows:,} rows in {export}; load {load_average():.2f}")

        started = time.perf_counter()
        sink = Collect()
        dry = import_export(settings["import"], "deals", export, mapping, publisher=sink)
        dry_seconds = time.perf_counter() - started
        jsonl = work / "events.jsonl"
        jsonl.write_bytes(b"".join(v + b"\n" for v in sink.values))
        events = len(sink.values)
        assert not dry.problems, dry.problems[:3]

        started = time.perf_counter()
        summary = import_export(settings["import"], "deals", export, mapping)
        import_seconds = time.perf_counter() - started
        assert summary.published == events

        started = time.perf_counter()
        with jsonl.open("rb") as lines:
            published = publish_lines(settings["publish"], lines, origin=str(jsonl))
        publish_seconds = time.perf_counter() - started
        assert published.published == events and not published.invalid

    figures = {
        "rows": args.rows,
        "events": events,
        "load": load_average(),
        "import": {
            "seconds": round(import_seconds, 3),
            "rows_per_s": round(args.rows / import_seconds, 1),
            "events_per_s": round(events / import_seconds, 1),
        },
        "import_dry_run": {
            "seconds": round(dry_seconds, 3),
            "rows_per_s": round(args.rows / dry_seconds, 1),
        },
        "publish": {
            "seconds": round(publish_seconds, 3),
            "events_per_s": round(events / publish_seconds, 1),
        },
    }
    figures["ratio_import_vs_publish_events"] = ratio(
        figures["import"]["events_per_s"], figures["publish"]["events_per_s"]
    )
    print(f"kpiflow import deals: {args.rows:,} rows -> {events:,} events")
    print(
        figure_line(
            "import (read, derive, validate, publish)",
            figures["import"]["rows_per_s"],
            "rows/s",
            f"{import_seconds:.2f} s",
        )
    )
    print(figure_line("import, events", figures["import"]["events_per_s"], "events/s"))
    print(
        figure_line(
            "import --dry-run (no Kafka)",
            figures["import_dry_run"]["rows_per_s"],
            "rows/s",
            f"{dry_seconds:.2f} s",
        )
    )
    print(
        figure_line(
            "baseline: publish of the same events (JSONL)",
            figures["publish"]["events_per_s"],
            "events/s",
            f"{publish_seconds:.2f} s",
        )
    )
    print(
        figure_line(
            "ratio import / publish (events/s)", figures["ratio_import_vs_publish_events"], "x"
        )
    )
    write_json(args.json, figures)


if __name__ == "__main__":
    main()
