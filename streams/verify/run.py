"""`kpiflow verify`: nothing lost, nothing counted twice. The checks, in the order they run.

1. logs: the events topic, replayed through the worker's triage, against the raw log and the
   dead-letter topic (`logcheck`), judged up to the offsets the worker committed.
2. kpis: each built definition version recomputed from the raw log against its projections
   (`kpis`), on a snapshot that held still: while the worker writes, the comparison is repeated
   until nothing changed during it (or `settle` seconds pass: an error, not a difference).

Works on the store `open_store()` returns: the embedded engine when the worker is stopped, the
worker's gateway while it runs, or a ClickHouse server.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable
from typing import Any

from kpiflow.errors import KpiflowError
from kpiflow.events.rates import configured_rates
from kpiflow.projections import deadletters
from kpiflow.projections.verify import kpis as kpi_check
from kpiflow.projections.verify.findings import Report
from kpiflow.settings import Settings
from kpiflow.streams.verify.logcheck import (
    DeadLetter,
    Offsets,
    RawRow,
    RawSnapshot,
    compare_dead_letters,
    compare_raw_log,
)
from kpiflow.streams.verify.replay import TopicReplay, incoming
from kpiflow.streams.verify.topics import KafkaSource, dead_letters


class VerifyError(KpiflowError):
    """Verify could not reach a verdict (exit 2): nothing was judged different or equal."""


def check_logs(settings: Settings, store, source: KafkaSource, report: Report) -> None:
    k = settings.kafka
    topic = k.events_topic
    committed = source.committed(topic, k.consumer_group)  # first: every outcome below it is stored
    raw = raw_snapshot(store)
    dlq = dead_letters(source, k.dlq_topic) + table_dead_letters(store)
    parts = source.partitions(topic)  # after the raw log: every stored row is below these ends
    replay = TopicReplay(settings.pipeline.currency, configured_rates(settings.pipeline))
    for partition, (low, high) in parts.items():
        for chunk in source.read(topic, partition, low, high):
            replay.feed([
                incoming(topic, r.partition, r.offset, r.value, r.timestamp_ms) for r in chunk
            ])  # fmt: skip
    expected = replay.result()
    offsets = Offsets(committed=committed, low={p: low for p, (low, _) in parts.items()})
    compare_raw_log(expected, raw, topic, offsets, dlq, report)
    compare_dead_letters(expected, topic, offsets, dlq, report)
    acknowledged = sum(
        max(min(committed.get(p, 0), high) - low, 0) for p, (low, high) in parts.items()
    )
    report.stats.update({
        "topic_messages": expected.messages,
        "acknowledged_messages": acknowledged,
        "accepted_events": len(expected.accepted),
        "rejected_messages": len(expected.rejected),
        "duplicate_messages": sum(len(v) for v in expected.duplicates.values()),
        "raw_events": raw.count,
        "raw_event_ids": raw.unique,
        "dead_letter_records": len(dlq),
    })  # fmt: skip
    report.checks.append("logs")


def table_dead_letters(store) -> list[DeadLetter]:
    """The rejects the dead-letter topic refused, kept in ClickHouse (`at` is (-1, row number))."""
    return [
        DeadLetter(d.topic, d.partition, d.offset, d.reason, at=(-1, n))
        for n, d in enumerate(deadletters.read_all(store))
    ]


def raw_snapshot(store) -> RawSnapshot:
    counts = store.rows("SELECT count() AS n, uniqExact(event_id) AS u FROM {db}.raw_events")[0]
    table = store.arrow("SELECT event_id, topic, partition, offset FROM {db}.raw_events")
    cols = [table.column(c).to_pylist() for c in ("event_id", "topic", "partition", "offset")]
    rows = [RawRow(*values) for values in zip(*cols, strict=True)]
    return RawSnapshot(rows, int(counts["n"]), int(counts["u"]))


def check_kpis(
    settings: Settings,
    store,
    report: Report,
    *,
    tolerance: float,
    settle: float,
    version: int | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    deadline = clock() + settle
    attempts = 0
    while True:
        attempts += 1
        before = _fingerprint(store)
        busy = _projector_busy(settings, before)
        trial = Report(limit=report.limit)
        compared = {}
        if not busy:
            definitions = kpi_check.built_definitions(store, trial, version)
            rows = kpi_check.recompute(store, definitions, settings.pipeline.tz)
            for number, expected in rows.items():
                actual = kpi_check.projected(store, number)
                compared[f"kpi_rows_v{number}"] = kpi_check.compare_rows(
                    number, expected, actual, tolerance, trial
                )
        if not busy and _fingerprint(store) == before:
            break
        if clock() >= deadline:
            why = busy or "new events or KPI rows arrived during each check"
            raise VerifyError(
                f"the pipeline kept changing for {settle:.0f}s ({why}), so the projections could "
                "not be compared on a still snapshot; run again at a quieter moment or with a "
                "longer --settle"
            )
        sleep(1.0)
    report.counts.update(trial.counts)
    for key, samples in trial.samples.items():
        report.samples.setdefault(key, []).extend(samples)
    report.stats.update(compared)
    if attempts > 1:
        report.notes.append(f"KPI comparison needed {attempts} attempts to get a still snapshot")
    report.checks.append("kpis")


def _fingerprint(store) -> tuple[Any, ...]:
    """Changes whenever an event is added to the raw log or a KPI row or version is written
    (merges do not change it)."""
    row = store.rows(
        "SELECT (SELECT uniqExact(event_id) FROM {db}.raw_event_log) AS events, "
        "(SELECT max(revision) FROM {db}.kpi_rows) AS kpi_revision, "
        "(SELECT max(revision) FROM {db}.kpi_definitions) AS definitions"
    )[0]
    return (row["events"], row["kpi_revision"], row["definitions"])


def _projector_busy(settings: Settings, fingerprint: tuple[Any, ...]) -> str | None:
    """Why the running worker's projector is not current (None: current, or no worker here)."""
    url = f"http://127.0.0.1:{settings.pipeline.worker_web_port}/kpiflow/state"
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (loopback)
            state = json.loads(response.read())
    except (OSError, ValueError):
        return None
    if not state.get("leader"):
        return None  # another worker projects, or this one has no assignment yet
    projector = state.get("projector") or {}
    if not projector:
        return "the worker's projector has not started"
    for number, progress in projector.items():
        if not progress.get("built"):
            return f"the worker is still building definition version {number}"
        if progress.get("events", 0) < fingerprint[0]:
            return f"the worker's projector of version {number} is behind the raw log"
    return None


def verify(
    settings: Settings,
    store,
    source: KafkaSource | None,
    *,
    limit: int = 20,
    tolerance: float = 1e-9,
    settle: float = 60.0,
    version: int | None = None,
    kpis: bool = True,
) -> Report:
    """Run the checks that were asked for; `source` None skips the Kafka checks."""
    report = Report(limit=limit)
    if source is not None:
        check_logs(settings, store, source, report)
    if kpis:
        check_kpis(settings, store, report, tolerance=tolerance, settle=settle, version=version)
    return report
