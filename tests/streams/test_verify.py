"""`kpiflow verify`: the pure replay and comparisons, then the whole check on a real (embedded)
ClickHouse with an in-memory Kafka, then the CLI's exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from kpiflow.projections import rawlog
from kpiflow.projections.engine.rows import KpiRow
from kpiflow.projections.projector import Projector
from kpiflow.projections.rawlog import batch_token, existing_copies
from kpiflow.projections.verify import EXIT_DIFFERENCE, EXIT_OK, Report
from kpiflow.projections.verify.kpis import compare_rows
from kpiflow.streams.deadletter import dead_letter_headers
from kpiflow.streams.triage import triage
from kpiflow.streams.verify import verify
from kpiflow.streams.verify.logcheck import (
    DeadLetter,
    Offsets,
    RawRow,
    RawSnapshot,
    compare_dead_letters,
    compare_raw_log,
    normalize_reason,
)
from kpiflow.streams.verify.replay import TopicReplay, incoming
from kpiflow.streams.verify.topics import Record
from tests.support.pipeline_env import free_port

TOPIC = "t.events"
DLQ = "t.events.dlq"
REPO = Path(__file__).resolve().parents[2]


def event_id(n: int) -> str:
    return str(uuid.UUID(int=n + 1, version=4))


def at(minutes: int) -> str:
    return (datetime(2026, 10, 5, 9, tzinfo=UTC) + timedelta(minutes=minutes)).isoformat()


def activity(n: int, **extra) -> dict:
    return {
        "event_id": event_id(n), "event_type": "activity.logged", "schema_version": 1,
        "occurred_at": at(n), "source": "test", "rep_id": f"rep-{n % 3}", "team_id": "team-a",
        "activity_type": "call", **extra,
    }  # fmt: skip


def stage(n: int, deal: str, to: str, minutes: int) -> dict:
    return {
        "event_id": event_id(n), "event_type": "deal.stage_changed", "schema_version": 1,
        "occurred_at": at(minutes), "source": "test", "rep_id": "rep-1", "team_id": "team-a",
        "deal_id": deal, "from_stage": "proposal", "to_stage": to,
    }  # fmt: skip


def raw(value) -> bytes:
    return value if isinstance(value, bytes) else json.dumps(value).encode()


def replay(partitions: dict[int, list]) -> TopicReplay:
    r = TopicReplay("EUR")
    for p, values in sorted(partitions.items()):
        r.feed([incoming(TOPIC, p, o, raw(v)) for o, v in enumerate(values)])
    return r


# -- the replay (pure) ------------------------------------------------------------------------


def test_replay_accepts_the_first_copy_and_rejects_a_stage_change_after_a_known_terminal():
    exp = replay({
        0: [activity(1), activity(2), activity(1, rep_id="other"), b"{bad"],
        1: [stage(10, "d1", "won", 100), stage(11, "d1", "negotiation", 200)],
        2: [stage(20, "d2", "negotiation", 200), stage(21, "d2", "lost", 100)],
    }).result()  # fmt: skip
    assert exp.accepted[event_id(1)] == (0, 0)
    assert exp.duplicates[event_id(1)] == [(0, 2)]
    assert "malformed JSON" in exp.rejected[(0, 3)]
    assert "already reached a terminal stage" in exp.rejected[(1, 1)]  # arrived after 'won'
    assert exp.rejected_ids[(1, 1)] == event_id(11)
    assert event_id(20) in exp.accepted  # arrived before 'lost': accepted, ignored by KPIs
    assert not exp.order_dependent


def test_replay_state_carries_across_chunks_like_the_worker_across_batches():
    r = TopicReplay("EUR")
    r.feed([incoming(TOPIC, 0, 0, raw(stage(1, "d", "won", 10)))])
    r.feed([incoming(TOPIC, 0, 1, raw(stage(2, "d", "meeting", 20)))])
    r.feed([incoming(TOPIC, 0, 2, raw(stage(1, "d", "won", 10)))])
    exp = r.result()
    assert (0, 1) in exp.rejected and exp.duplicates[event_id(1)] == [(0, 2)]


def test_replay_marks_what_depends_on_cross_partition_order():
    exp = replay({
        0: [activity(1), stage(10, "d", "won", 100)],
        1: [activity(1), stage(11, "d", "meeting", 200)],
    }).result()  # fmt: skip
    assert event_id(1) in exp.any_copy  # copies in two partitions: either copy may be stored
    assert {event_id(10), event_id(11)} <= exp.either_fate  # the deal spans two partitions


# -- raw log and dead letters against the replay (pure) ---------------------------------------


def snapshot(rows: list[tuple[str, int, int]]) -> RawSnapshot:
    return RawSnapshot(
        [RawRow(i, TOPIC, p, o) for i, p, o in rows], len(rows), len({r[0] for r in rows})
    )


def dead(p: int, o: int, reason: str, at_offset: int = 0) -> DeadLetter:
    return DeadLetter(TOPIC, p, o, reason, (0, at_offset))


def kinds(report: Report) -> dict[str, int]:
    return {f"{c}.{k}": n for (c, k), n in report.counts.items()}


EXP_PARTS = {0: [activity(1), activity(2), b"\xff", activity(3)]}


def test_a_complete_raw_log_and_dead_letter_topic_pass():
    exp = replay(EXP_PARTS).result()
    report = Report()
    rows = snapshot([(event_id(1), 0, 0), (event_id(2), 0, 1), (event_id(3), 0, 3)])
    dlq = [dead(0, 2, exp.rejected[(0, 2)]), dead(0, 2, exp.rejected[(0, 2)], 1)]
    compare_raw_log(exp, rows, TOPIC, Offsets({0: 4}), dlq, report)
    compare_dead_letters(exp, TOPIC, Offsets({0: 4}), dlq, report)
    assert report.exit_code == EXIT_OK
    assert kinds(report) == {"dead_letters.redelivered": 1}  # at-least-once: info only


def test_lost_events_and_dead_letters_are_differences_only_below_the_committed_offset():
    exp = replay(EXP_PARTS).result()
    acked, report = Report(), Report()
    compare_raw_log(exp, snapshot([(event_id(1), 0, 0)]), TOPIC, Offsets({0: 4}), [], acked)
    compare_dead_letters(exp, TOPIC, Offsets({0: 4}), [], acked)
    assert kinds(acked) == {"raw_log.missing": 2, "dead_letters.missing": 1}
    compare_raw_log(exp, snapshot([(event_id(1), 0, 0)]), TOPIC, Offsets({0: 1}), [], report)
    compare_dead_letters(exp, TOPIC, Offsets({0: 1}), [], report)
    assert kinds(report) == {"raw_log.pending": 2, "dead_letters.pending": 1}
    assert report.exit_code == EXIT_OK


def test_extra_wrong_copy_not_unique_and_wrong_dead_letters_are_differences():
    exp = replay({0: [activity(1), activity(1), activity(2), b"{"]}).result()
    report = Report()
    rows = snapshot([(event_id(1), 0, 1), (event_id(2), 0, 2), (event_id(9), 0, 3)])
    rows.count += 1  # as if FINAL returned a row twice
    dlq = [
        dead(0, 2, "an accepted event dead-lettered"),
        dead(0, 3, "some other reason"),
        DeadLetter("file:7", -1, -1, "rejected by the producer", (0, 9)),
    ]  # fmt: skip
    compare_raw_log(exp, rows, TOPIC, Offsets({0: 4}), dlq, report)
    compare_dead_letters(exp, TOPIC, Offsets({0: 4}), dlq, report)
    assert kinds(report) == {
        "raw_log.wrong_copy": 1, "raw_log.extra": 1, "raw_log.not_unique": 1,
        "dead_letters.extra": 1, "dead_letters.reason": 1, "dead_letters.other_source": 1,
    }  # fmt: skip
    assert report.exit_code == EXIT_DIFFERENCE


def test_order_dependent_events_may_take_either_fate_but_not_none():
    exp = replay({
        0: [stage(10, "d", "won", 100)],
        1: [stage(11, "d", "meeting", 200)],
    }).result()  # fmt: skip
    reason = "to_stage: deal d already reached a terminal stage"
    stored_or_dead = [
        (snapshot([(event_id(10), 0, 0), (event_id(11), 1, 0)]), []),
        (snapshot([(event_id(10), 0, 0)]), [dead(1, 0, reason)]),
    ]
    for rows, dlq in stored_or_dead:
        report = Report()
        compare_raw_log(exp, rows, TOPIC, Offsets({0: 1, 1: 1}), dlq, report)
        compare_dead_letters(exp, TOPIC, Offsets({0: 1, 1: 1}), dlq, report)
        assert report.exit_code == EXIT_OK, kinds(report)
    report = Report()
    compare_raw_log(exp, snapshot([(event_id(10), 0, 0)]), TOPIC, Offsets({0: 1, 1: 1}), [], report)
    assert report.count("raw_log", "missing") == 1


def test_reasons_compare_the_same_instant_however_it_is_written():
    a = "to_stage: deal d already reached a terminal stage at 2026-10-05T14:03:12+02:00; never"
    b = "to_stage: deal d already reached a terminal stage at 2026-10-05T12:03:12+00:00; never"
    assert normalize_reason(a) == normalize_reason(b)
    assert normalize_reason(a) != normalize_reason(a.replace("14:03", "15:03"))


def test_report_caps_samples_not_counts():
    report = Report(limit=2)
    for i in range(5):
        report.add("raw_log", "missing", f"e{i}")
    doc = report.as_dict()
    (kind,) = doc["findings"]
    assert kind["count"] == 5 and len(kind["samples"]) == 2 and kind["truncated"]
    assert doc["status"] == "difference" and doc["exit_code"] == EXIT_DIFFERENCE


# -- KPI rows (pure) --------------------------------------------------------------------------


def test_kpi_rows_missing_extra_and_different_beyond_the_tolerance():
    day = date(2026, 10, 5)
    expected = [
        KpiRow("activities", "day", day, "all", "all", 3),
        KpiRow("close_rate", "day", day, "all", "all", 1 / 3),
        KpiRow("won_value", "day", day, "all", "all", 100),
    ]  # fmt: skip
    actual = {
        ("activities", "day", day, "all", "all"): 3.0,
        ("close_rate", "day", day, "all", "all"): 0.3333333333333333 + 1e-15,  # within tolerance
        ("calls", "day", day, "all", "all"): 1.0,
    }  # fmt: skip
    report = Report()
    assert compare_rows(1, expected, actual, 1e-9, report) == 3
    assert kinds(report) == {"kpis.missing": 1, "kpis.extra": 1}
    actual[("won_value", "day", day, "all", "all")] = 100.01
    report = Report()
    compare_rows(1, expected, actual, 1e-9, report)
    assert report.count("kpis", "different") == 1


# -- the whole check on the embedded ClickHouse, Kafka in memory ------------------------------


class MemoryKafka:
    """The KafkaSource protocol over lists of records."""

    def __init__(self) -> None:
        self.topics: dict[str, dict[int, list[Record]]] = {}
        self.committed_offsets: dict[int, int] = {}

    def append(self, topic: str, partition: int, value: bytes, headers=None) -> Record:
        records = self.topics.setdefault(topic, {}).setdefault(partition, [])
        record = Record(partition, len(records), value, headers)
        records.append(record)
        return record

    def partitions(self, topic: str) -> dict[int, tuple[int, int]]:
        return {p: (0, len(r)) for p, r in sorted(self.topics.get(topic, {0: []}).items())}

    def committed(self, topic: str, group: str) -> dict[int, int]:
        return dict(self.committed_offsets)

    def read(self, topic: str, partition: int, start: int, end: int):
        yield self.topics.get(topic, {}).get(partition, [])[start:end]

    def close(self) -> None:
        pass


@pytest.fixture
def settings(monkeypatch):
    from kpiflow.settings import Settings

    monkeypatch.setenv("KPIFLOW_KAFKA_EVENTS_TOPIC", TOPIC)
    monkeypatch.setenv("KPIFLOW_KAFKA_DLQ_TOPIC", DLQ)
    monkeypatch.setenv("KPIFLOW_WORKER_WEB_PORT", str(free_port()))  # no worker answers there
    return Settings()


def run_pipeline(store, kafka: MemoryKafka, batches: list[list[tuple[int, bytes]]]) -> None:
    """What the worker does, without Kafka or Faust: triage, dead letters, insert, commit,
    then the projector until it is idle."""
    terminals: dict = {}
    for batch in batches:
        incoming_batch = []
        for partition, value in batch:
            record = kafka.append(TOPIC, partition, value)
            incoming_batch.append(incoming(TOPIC, partition, record.offset, value))
        ids = [json.loads(v)["event_id"] for _, v in batch if v.startswith(b"{")]
        result = triage(incoming_batch, "EUR", terminals, existing_copies(store, ids))
        for rejected in result.rejected:
            w = rejected.where
            kafka.append(
                DLQ,
                0,
                rejected.value,
                dead_letter_headers(rejected.reason, w.topic, w.partition, w.offset),
            )
        rawlog.insert(store, result.accepted, batch_token(TOPIC, result.ranges))
        terminals.update(result.new_terminals)
        for m in incoming_batch:
            kafka.committed_offsets[m.where.partition] = m.where.offset + 1
    projector = Projector(store, ZoneInfo("UTC"))
    projector.sync_versions()
    while projector.step():
        pass


def day_of_events() -> list[list[tuple[int, bytes]]]:
    first = [(i % 2, raw(activity(i))) for i in range(40)]
    second = [
        (0, raw(stage(100, "deal-1", "won", 30))),
        (0, raw(stage(101, "deal-1", "meeting", 60))),  # after 'won': dead-lettered
        (1, b"not json"),
        (1, raw(activity(3))),  # a duplicate
    ]  # fmt: skip
    return [first, second]


def test_verify_passes_on_a_consistent_pipeline_and_fails_when_rows_are_tampered(
    ch_store, settings
):
    kafka = MemoryKafka()
    run_pipeline(ch_store, kafka, day_of_events())
    report = verify(settings, ch_store, kafka, settle=5)
    assert report.exit_code == EXIT_OK, report.as_dict()
    assert report.stats["accepted_events"] == 41 and report.stats["rejected_messages"] == 2
    assert report.stats["kpi_rows_v1"] > 0
    # a lost raw event: both the raw-log check and the KPI check notice
    ch_store.command(
        "ALTER TABLE {db}.raw_event_log DELETE WHERE event_id = {e:String} "
        "SETTINGS mutations_sync = 1",
        {"e": event_id(5)},
    )
    lost = verify(settings, ch_store, kafka, settle=5)
    assert lost.count("raw_log", "missing") == 1
    assert lost.count("kpis", "different") > 0
    # a projection row counted twice
    ch_store.command(
        "INSERT INTO {db}.kpi_rows (definition_version, kpi, grain, period_start, dimension_kind, "
        "dimension, value, revision) SELECT definition_version, kpi, grain, period_start, "
        "dimension_kind, dimension, value * 2, revision + 1 FROM {db}.kpi_rows FINAL "
        "WHERE kpi = 'activities' AND grain = 'day' AND dimension_kind = 'all'"
    )
    doubled = verify(settings, ch_store, kafka, settle=5, kpis=True)
    assert doubled.count("kpis", "different") >= 1
    assert doubled.exit_code == EXIT_DIFFERENCE


def test_a_version_still_building_is_not_compared(ch_store, settings):
    from kpiflow.projections import versions
    from kpiflow.projections.definitions import DEFAULT_DEFINITION

    kafka = MemoryKafka()
    run_pipeline(ch_store, kafka, day_of_events())
    versions.register(ch_store, DEFAULT_DEFINITION.model_copy(update={"points": {"call": 5}}))
    report = verify(settings, ch_store, None, settle=5)
    assert report.count("kpis", "not_built") == 1
    assert report.exit_code == EXIT_OK
    assert report.checks == ["kpis"]


# -- the command ------------------------------------------------------------------------------


def cli(tmp_path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KPIFLOW_")}
    env |= {"KPIFLOW_DATA_DIR": str(tmp_path), "KPIFLOW_WORKER_WEB_PORT": str(free_port())}
    return subprocess.run(
        [sys.executable, "-m", "kpiflow.cli", "verify", *args],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_cli_documents_its_exit_codes():
    done = subprocess.run(
        [sys.executable, "-m", "kpiflow.cli", "verify", "--help"],
        cwd=REPO, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0
    text = " ".join(done.stdout.split())
    assert "0 = everything matches" in text and "2 = verify could not run" in text
    assert "KPIFLOW_VERIFY_SETTLE" in text


def test_cli_exits_2_with_a_json_error_when_it_cannot_check(tmp_path):
    done = cli(tmp_path, "--json", "--no-kafka")  # no schema in this data dir: nothing to compare
    assert done.returncode == 2, done.stderr
    doc = json.loads(done.stdout)
    assert doc["status"] == "error" and doc["exit_code"] == 2 and doc["error"]
