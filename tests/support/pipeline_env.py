"""Helpers for tests on real processes: a pipeline's own topics/group/data dir, worker processes
that can be killed, reading a topic. The fixtures that use them are in tests/conftest.py."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PipelineEnv:
    """Names and settings of one test's pipeline: its own topics, group, data dir, ports."""

    def __init__(self, bootstrap: str, base: Path, partitions: int = 3) -> None:
        tag = uuid.uuid4().hex[:8]
        self.base = base
        self.env = {
            "KPIFLOW_DATA_DIR": str(base / "data"),
            "KPIFLOW_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "KPIFLOW_KAFKA_EVENTS_TOPIC": f"t{tag}.events",
            "KPIFLOW_KAFKA_DLQ_TOPIC": f"t{tag}.events.dlq",
            "KPIFLOW_KAFKA_CONSUMER_GROUP": f"kpiflow-{tag}",
            "KPIFLOW_KAFKA_PARTITIONS": str(partitions),
            "KPIFLOW_WORKER_WEB_PORT": str(free_port()),
            "KPIFLOW_WORKER_SQL_PORT": str(free_port()),
            "KPIFLOW_CLICKHOUSE_DSN": "",
            "KPIFLOW_CLICKHOUSE_DATABASE": "kpiflow",
            "KPIFLOW_BATCH_SECONDS": "0.3",
            "KPIFLOW_SESSION_TIMEOUT": "6",
            "KPIFLOW_REBALANCE_TIMEOUT": "10",
        }
        self.workers: list[WorkerProcess] = []

    def settings(self):
        from kpiflow.settings import Settings

        old = {k: os.environ.get(k) for k in self.env}
        os.environ.update(self.env)
        try:
            return Settings()
        finally:
            for k, v in old.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v

    def create_topics(self) -> None:
        from kpiflow.runtime import kafka as runtime
        from kpiflow.streams.deadletter import DEAD_LETTER_TOPIC_CONFIG

        s = self.settings()
        runtime.ensure_topics(
            s.kafka.bootstrap_servers,
            {s.kafka.events_topic: s.kafka.partitions, s.kafka.dlq_topic: 1},
            retention_ms={s.kafka.events_topic: -1},
            topic_config={s.kafka.dlq_topic: DEAD_LETTER_TOPIC_CONFIG},
        )

    def start_worker(self, **extra_env: str) -> WorkerProcess:
        worker = WorkerProcess(self, extra_env)
        self.workers.append(worker)
        return worker

    def gateway(self):
        from kpiflow.projections.store import GatewayStore, gateway_file

        info = json.loads(gateway_file(Path(self.env["KPIFLOW_DATA_DIR"])).read_text())
        return GatewayStore(info["url"], info["token"], "kpiflow")

    def state(self) -> dict | None:
        try:
            url = f"http://127.0.0.1:{self.env['KPIFLOW_WORKER_WEB_PORT']}/kpiflow/state"
            with urllib.request.urlopen(url, timeout=2) as r:  # noqa: S310
                return json.loads(r.read())
        except OSError:
            return None

    def wait_caught_up(self, expected_raw: int | None = None, timeout: float = 180) -> None:
        """Consumer lag 0 and projections built over every raw event."""
        from kpiflow.streams.lag import consumer_lag

        s = self.settings()
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            lag = sum(p.lag for p in consumer_lag(s))
            state = self.state()
            last = (lag, state)
            if lag == 0 and state:
                proj = state["projector"]
                raw = self.gateway().scalar("SELECT uniqExact(event_id) FROM {db}.raw_event_log")
                if (
                    (expected_raw is None or raw == expected_raw)
                    and proj
                    and all(v["built"] and v["events"] >= raw for v in proj.values())
                ):
                    return
            time.sleep(0.5)
        raise AssertionError(f"pipeline did not catch up in {timeout}s: lag/state {last}")

    def stop_all(self) -> None:
        failures = []
        for w in self.workers:  # every one, even after one that would not stop
            try:
                w.stop()
            except AssertionError as exc:
                failures.append(exc)
        if failures:
            raise failures[0]


class WorkerProcess:
    def __init__(self, pipeline: PipelineEnv, extra_env: dict[str, str]) -> None:
        self.pipeline = pipeline
        env = {**os.environ, **pipeline.env, **extra_env}
        env.pop("KPIFLOW_TEST_CHDB_DSN", None)
        log = pipeline.base / f"worker-{len(pipeline.workers)}.log"
        self.log_path = log
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "kpiflow.cli", "worker", "--loglevel", "info"],
            cwd=REPO,
            env=env,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"worker exited with {self.proc.returncode}:\n{self.tail()}")
            state = self.pipeline.state()
            # up: its projector holds versions, or reports that its steps fail (then it holds
            # them only for the moments between a retry's start and its failure)
            if state and (state.get("projector") or state.get("projector_failure")):
                return
            time.sleep(0.3)
        raise AssertionError(f"worker not ready in {timeout}s:\n{self.tail()}")

    def wait_for_log(self, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log_path.read_text(errors="replace"):
                return
            if self.proc.poll() is not None:
                raise AssertionError(f"worker exited with {self.proc.returncode}:\n{self.tail()}")
            time.sleep(0.2)
        raise AssertionError(f"{text!r} not in the worker's log after {timeout}s:\n{self.tail()}")

    def tail(self, n: int = 60) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            if sig == signal.SIGKILL:
                self.proc.wait(timeout=60)

    def stop(self) -> None:
        """SIGTERM, and SIGKILL if the worker is still there after 60 s (a worker that does not
        stop must not outlive its test: it would hold its broker's group and a CPU)."""
        if self.proc.poll() is None:
            self.kill(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.kill(signal.SIGKILL)
                tail = self.tail()
                raise AssertionError(f"the worker ignored SIGTERM for 60 s:\n{tail}") from None


def published(settings, topic: str, timeout: float = 10.0) -> int:
    """How many messages `topic` holds (the sum of its partitions' end offsets; 0: none yet)."""
    from confluent_kafka import Consumer, KafkaException, TopicPartition

    consumer = Consumer(settings.kafka.confluent_config() | {"group.id": "published-probe"})
    try:
        meta = consumer.list_topics(topic, timeout=timeout)
        parts = meta.topics[topic].partitions if topic in meta.topics else {}
        return sum(
            consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout)[1]
            for p in parts
        )
    except KafkaException:
        return 0
    finally:
        consumer.close()


def read_topic(settings, topic: str, timeout: float = 10.0) -> list:
    """Every message currently in `topic` (confluent-kafka messages)."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer(
        settings.kafka.confluent_config()
        | {
            "group.id": f"reader-{uuid.uuid4().hex[:6]}",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )
    meta = consumer.list_topics(topic, timeout=timeout)
    parts = sorted(meta.topics[topic].partitions)
    ends = {
        p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout)[1]
        for p in parts
    }
    consumer.assign([TopicPartition(topic, p, 0) for p in parts])
    out, done = [], {p for p, end in ends.items() if end == 0}
    deadline = time.monotonic() + timeout
    while len(done) < len(parts) and time.monotonic() < deadline:
        msg = consumer.poll(0.5)
        if msg is None or msg.error():
            continue
        out.append(msg)
        if msg.offset() + 1 >= ends[msg.partition()]:
            done.add(msg.partition())
    consumer.close()
    return out
