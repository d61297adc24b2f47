"""The peers the kpiflow worker is measured against, each run as its own process.

    python bench/peers.py ingest  --bootstrap B --topic T --group G --data-dir D --expect N
    python bench/peers.py ceiling ...   # + the KPI engine and kpi_rows per batch
    python bench/peers.py quix    ...   # the same batch work in a Quix Streams application
    python bench/peers.py consume ...   # polling and commits only (the transport floor)

Every peer does the worker's batch work with the project's own functions and nothing more:
- ingest: poll a batch (KPIFLOW_BATCH_SIZE messages or KPIFLOW_BATCH_SECONDS), validate each
  message (`events.parse_event`), insert the batch with the worker's raw-log insert
  (`kpiflow.projections.rawlog.insert`) into its own embedded ClickHouse with the batch's
  deduplication token, then commit the batch's offsets;
- ceiling: the same, plus the pure KPI engine on the batch's records (`KpiEngine.apply`,
  `take_changes`) and `projections.writer.write_changes` to `kpi_rows`, before the commit;
- quix: the ceiling's work as a Quix Streams sink, flushed at each checkpoint (every batch-size
  messages or batch-seconds), offsets committed by Quix after the flush.
The peer stops once its raw log holds `--expect` rows and prints one JSON line of figures.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import DATABASE, checksum, raw_span  # noqa: E402


@dataclass(frozen=True, slots=True)
class Placed:
    """An accepted event where it came from (what the worker's triage hands the insert)."""

    event: Any
    payload: str
    topic: str
    partition: int
    offset: int


class BatchWork:
    """Validate -> raw-log rows -> insert (dedup token) [-> engine -> kpi_rows] for one batch."""

    def __init__(
        self, data_dir: Path, topic: str, currency: str, tz: ZoneInfo, project: bool
    ) -> None:
        from kpiflow.projections.definitions import DEFAULT_DEFINITION
        from kpiflow.projections.engine import KpiEngine
        from kpiflow.projections.migrate import apply_migrations
        from kpiflow.projections.store import ClickHouseStore
        from kpiflow.projections.writer import RevisionClock

        data_dir.mkdir(parents=True, exist_ok=True)
        self.store = ClickHouseStore(f"chdb://{data_dir.resolve()}", DATABASE)
        apply_migrations(self.store)
        self.topic = topic
        self.currency = currency
        self.project = project
        self.engine = KpiEngine(DEFAULT_DEFINITION, tz)
        self.version = DEFAULT_DEFINITION.version
        self.clock = RevisionClock()
        self.inserted = 0
        self.invalid = 0

    def write(self, messages: list[tuple[bytes, int, int]]) -> None:
        """`messages`: (value, partition, offset) in arrival order."""
        from kpiflow.events import InvalidEvent, parse_event
        from kpiflow.projections.rawlog import batch_token, insert
        from kpiflow.projections.records import record_from_event
        from kpiflow.projections.writer import write_changes

        rows, records, ranges = [], [], {}
        for value, partition, offset in messages:
            lo, hi = ranges.get(partition, (offset, offset))
            ranges[partition] = (min(lo, offset), max(hi, offset))
            try:
                event = parse_event(value, self.currency)
            except InvalidEvent:
                self.invalid += 1
                continue
            rows.append(Placed(event, value.decode("utf-8"), self.topic, partition, offset))
            if self.project:
                records.append(record_from_event(event, seq=offset))
        if rows:  # the worker's own raw-log insert: the same sink work
            insert(self.store, rows, batch_token(self.topic, ranges))
        if self.project and records:
            self.engine.apply(records)
            upserts, deletes = self.engine.take_changes()
            write_changes(self.store, self.version, upserts, deletes, self.clock)
        self.inserted += len(rows)

    def figures(self, kind: str, **extra) -> dict:
        out = {"peer": kind, **raw_span(self.store, through_projections=self.project), **extra}
        if self.project:
            out["checksum"] = checksum(self.store)
        out["invalid"] = self.invalid
        return out


def run_bare(args, project: bool) -> dict:
    """A bare confluent-kafka consumer: poll a batch, do the work, commit, repeat."""
    from confluent_kafka import Consumer

    work = BatchWork(args.data_dir, args.topic, args.currency, ZoneInfo(args.timezone), project)
    consumer = Consumer(
        {
            "bootstrap.servers": args.bootstrap,
            "group.id": args.group,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )
    consumer.subscribe([args.topic])
    try:
        while work.inserted + work.invalid < args.expect:
            batch = consumer.consume(num_messages=args.batch, timeout=args.batch_seconds)
            messages = [(m.value(), m.partition(), m.offset()) for m in batch if m.error() is None]
            if not messages:
                continue
            work.write(messages)
            consumer.commit(asynchronous=False)
    finally:
        consumer.close()
    return work.figures("ceiling" if project else "ingest")


def run_consume(args) -> dict:
    """Transport floor: the bare consumer's polling and per-batch commits, no work at all.
    Timed by its own clock from the end of the first batch to the end of the last."""
    from confluent_kafka import Consumer

    consumer = Consumer(
        {
            "bootstrap.servers": args.bootstrap,
            "group.id": args.group,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )
    consumer.subscribe([args.topic])
    seen = first_batch = 0
    first = last = 0.0
    try:
        while seen < args.expect:
            batch = consumer.consume(num_messages=args.batch, timeout=args.batch_seconds)
            values = [m.value() for m in batch if m.error() is None]
            if not values:
                continue
            consumer.commit(asynchronous=False)
            seen += len(values)
            last = time.perf_counter()
            if not first:
                first, first_batch = last, len(values)
    finally:
        consumer.close()
    seconds = max(last - first, 1e-6)
    return {
        "peer": "consume",
        "events": seen,
        "seconds": round(seconds, 3),
        "rate": round((seen - first_batch) / seconds, 1),
    }


def run_quix(args) -> dict:
    """The same batch work as a Quix Streams sink; Quix owns polling, checkpoints and commits."""
    from quixstreams import Application
    from quixstreams.sinks import BaseSink

    work = BatchWork(args.data_dir, args.topic, args.currency, ZoneInfo(args.timezone), True)
    app = Application(
        broker_address=args.bootstrap,
        consumer_group=args.group,
        auto_offset_reset="earliest",
        commit_every=args.batch,
        commit_interval=args.batch_seconds,
        state_dir=str(args.data_dir / "quix-state"),
        use_changelog_topics=False,
        auto_create_topics=False,
        loglevel="WARNING",
    )

    class ProjectionSink(BaseSink):
        """Collects the checkpoint's messages; flush() does one batch's work for all of them."""

        def __init__(self) -> None:
            super().__init__()
            self.pending: list[tuple[bytes, int, int]] = []

        def add(self, value, key, timestamp, headers, topic, partition, offset) -> None:  # noqa: ARG002
            self.pending.append((value, partition, offset))

        def flush(self) -> None:
            if self.pending:
                work.write(self.pending)
                self.pending = []
            if work.inserted + work.invalid >= args.expect:
                app.stop()

    topic = app.topic(args.topic, value_deserializer="bytes", key_deserializer="bytes")
    sdf = app.dataframe(topic)
    sdf.sink(ProjectionSink())
    app.run()
    import quixstreams

    return work.figures("quix", quixstreams=quixstreams.__version__)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("kind", choices=["consume", "ingest", "ceiling", "quix"])
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--group", required=True)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--expect", type=int, required=True, help="stop after this many events")
    parser.add_argument("--batch", type=int, default=2000)
    parser.add_argument("--batch-seconds", type=float, default=0.5)
    parser.add_argument("--currency", default="EUR")
    parser.add_argument("--timezone", default="UTC")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    started = time.perf_counter()
    if args.kind == "quix":
        figures = run_quix(args)
    elif args.kind == "consume":
        figures = run_consume(args)
    else:
        figures = run_bare(args, project=args.kind == "ceiling")
    figures["wall_seconds"] = round(time.perf_counter() - started, 2)
    print(json.dumps(figures), flush=True)


if __name__ == "__main__":
    main()
