"""Data and checks shared by the fault tests: a noisy history, publishing, verify, the DLQ."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache
from random import Random
from typing import Any

from kpiflow.events.envelope import aggregate_key
from kpiflow.streams.deadletter import (
    HEADER_OFFSET,
    HEADER_PARTITION,
    HEADER_REASON,
    HEADER_TOPIC,
    read_headers,
)
from kpiflow.streams.producer import EventPublisher, make_producer
from kpiflow.streams.simulator import OrgConfig, simulate_history
from kpiflow.streams.simulator.noise import with_noise
from tests.support.pipeline_env import REPO, read_topic


@cache
def history() -> OrgConfig:
    """Two weeks of a 6-rep org, about 2,500 events."""
    return OrgConfig.for_target_events(
        2500, teams=2, reps_per_team=3, start=date(2026, 7, 1), days=14, timezone="Europe/Amsterdam"
    )


@dataclass
class Workload:
    """What a test publishes: valid events (keyed by their aggregate), invalid messages, noise."""

    messages: list[tuple[bytes, bytes | None]] = field(default_factory=list)  # (value, key)
    event_ids: set[str] = field(default_factory=set)  # every valid event, once
    invalid: list[bytes] = field(default_factory=list)  # values the worker must dead-letter
    clean: list[dict[str, Any]] = field(default_factory=list)  # the history without noise

    def add_valid(self, event: dict[str, Any]) -> None:
        self.event_ids.add(event["event_id"])
        self.messages.append((_json(event), aggregate_key(event).encode()))

    def add_invalid(self, value: bytes, key: bytes | None = None) -> None:
        self.invalid.append(value)
        self.messages.append((value, key))


def noisy_history(seed: int = 5) -> Workload:
    """~2,500 events of a simulated org with duplicates, late and out-of-order arrivals and ~2%
    invalid messages (`with_noise`), plus:
    - conflicting duplicates: a known event_id again, later, with other content (a duplicate
      whatever its content: the first accepted copy wins);
    - stage changes after a won/lost stage: one arriving after the terminal change (dead-lettered
      by the stateful rule) and one arriving before it (accepted, ignored by the KPIs)."""
    rng = Random(seed)
    events = list(simulate_history(history()))
    out = Workload(clean=copy.deepcopy(events))
    valid_ids = {e["event_id"] for e in events}
    noise = {"duplicate_rate": 0.05, "shuffle_window": 40, "invalid_rate": 0.02, "late_by": 400}
    for message in with_noise(events, seed, late_rate=0.01, **noise):
        if isinstance(message, dict) and message.get("event_id") in valid_ids and _valid(message):
            out.add_valid(message)
        else:
            out.add_invalid(message.encode() if isinstance(message, str) else _json(message))
    for original in rng.sample([e for e in events if e["event_type"] == "activity.logged"], 40):
        other = copy.deepcopy(original)
        other["activity_type"] = "demo" if original["activity_type"] != "demo" else "call"
        other["rep_id"] = original["rep_id"] + "-conflict"
        # same key as the original: same partition, a later offset, a later batch
        out.messages.append((_json(other), aggregate_key(original).encode()))
    terminals = [e for e in events if e.get("to_stage") in ("won", "lost")]
    for i, terminal in enumerate(rng.sample(terminals, min(6, len(terminals)))):
        late = dict(terminal, event_id=_uuid(rng), from_stage=terminal["to_stage"])
        late.update(to_stage="negotiation", occurred_at=_later(terminal["occurred_at"], hours=3))
        message = (_json(late), aggregate_key(late).encode())
        if i % 2 == 0:  # after the terminal change: dead-lettered
            out.add_invalid(*message)
        else:  # before it: accepted (and ignored by every KPI)
            out.event_ids.add(late["event_id"])
            out.messages.insert(_position(out, terminal["event_id"]), message)
    return out


def activity(rng: Random, i: int) -> dict:
    return {
        "event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "event_type": "activity.logged",
        "schema_version": 1,
        "occurred_at": (
            datetime(2026, 10, 1, 8, tzinfo=UTC) + timedelta(minutes=5 * i)
        ).isoformat(),
        "source": "test",
        "rep_id": f"rep-{i % 5}",
        "team_id": f"team-{i % 2}",
        "activity_type": rng.choice(["call", "email", "meeting", "demo"]),
    }


def valid_workload(rng: Random, n: int, start: int = 0) -> Workload:
    w = Workload()
    for i in range(start, start + n):
        w.add_valid(activity(rng, i))
    return w


def publish(settings, workload: Workload, **producer_conf: Any) -> None:
    publisher = EventPublisher(
        settings, make_producer(settings, **producer_conf) if producer_conf else None
    )
    for value, key in workload.messages:
        if key is None:
            publisher.send_raw(value)
        else:
            publisher.send_valid(value, key.decode())  # sent as is: the worker judges it
    publisher.flush()


def run_verify(pipeline, *args: str, timeout: float = 180) -> tuple[int, dict]:
    """`kpiflow verify --json` in its own process, as ops would run it; (exit code, document)."""
    env = {**os.environ, **pipeline.env}
    env.pop("KPIFLOW_TEST_CHDB_DSN", None)
    done = subprocess.run(
        [sys.executable, "-m", "kpiflow.cli", "verify", "--json", "--settle", "60", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        timeout=timeout,
        check=False,
    )
    try:
        doc = json.loads(done.stdout)
    except ValueError:
        doc = {"stdout": done.stdout.decode(errors="replace")}
    doc["stderr"] = done.stderr.decode(errors="replace")[-4000:]
    return done.returncode, doc


def differences(doc: dict) -> dict[str, int]:
    return {
        f"{f['check']}.{f['kind']}": f["count"]
        for f in doc.get("findings", [])
        if f["severity"] == "difference"
    }


def findings(doc: dict) -> dict[str, int]:
    return {f"{f['check']}.{f['kind']}": f["count"] for f in doc.get("findings", [])}


def dead_letters_by_source(settings) -> tuple[dict[tuple[str, int, int], tuple[bytes, str]], int]:
    """Dead letters deduplicated by their source coordinates, and the number of redeliveries."""
    out: dict[tuple[str, int, int], tuple[bytes, str]] = {}
    copies = 0
    for m in read_topic(settings, settings.kafka.dlq_topic, timeout=30):
        h = read_headers(m.headers())
        source = (h[HEADER_TOPIC], int(h[HEADER_PARTITION]), int(h[HEADER_OFFSET]))
        copies += source in out
        out.setdefault(source, (m.value(), h[HEADER_REASON]))
    return out, copies


def assert_dlq_holds_exactly(settings, workload: Workload) -> None:
    """The dead-letter topic holds each invalid message once (after dedupe), unchanged, with a
    reason."""
    dlq, _ = dead_letters_by_source(settings)
    assert Counter(v for v, _ in dlq.values()) == Counter(workload.invalid)
    assert all(reason for _, reason in dlq.values())
    assert all(topic == settings.kafka.events_topic for topic, _, _ in dlq)


def _position(workload: Workload, event_id: str) -> int:
    marker = f'"event_id":"{event_id}"'.encode()
    return next(n for n, (value, _) in enumerate(workload.messages) if marker in value)


def _json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def _valid(event: dict) -> bool:
    from kpiflow.events import InvalidEvent, parse_event

    try:
        parse_event(event, "EUR")
    except InvalidEvent:
        return False
    return True


def _uuid(rng: Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _later(stamp: str, hours: int) -> str:
    return (
        datetime.fromisoformat(stamp.replace("Z", "+00:00")) + timedelta(hours=hours)
    ).isoformat()
