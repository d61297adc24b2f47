"""Talking to any Kafka cluster (the local one or the user's) with confluent-kafka's AdminClient:
is it answering, and do the pipeline's topics exist.

`config` is extra librdkafka settings for secured clusters, e.g. `KafkaSettings.confluent_config()`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewTopic,
)

from kpiflow.errors import RuntimeServiceError
from kpiflow.runtime import process

log = logging.getLogger(__name__)


def admin_client(bootstrap: str, config: dict[str, Any] | None = None) -> AdminClient:
    # log_level 4: librdkafka's warnings and errors only, not its info lines on stderr
    return AdminClient({"log_level": 4, **(config or {}), "bootstrap.servers": bootstrap})


def hosts(bootstrap: str) -> list[tuple[str, int]]:
    """("host", port) pairs of a bootstrap string such as "a:9092,b:9092" or "[::1]:9092"."""
    pairs = []
    for item in bootstrap.split(","):
        item = item.strip().split("://")[-1]
        host, _, port = item.rpartition(":")
        if host and port.isdigit():
            pairs.append((host.strip("[]"), int(port)))
    return pairs


# Group coordinator answers meaning "not yet": right after a (re)start the broker may take a
# second or two before it leads __consumer_offsets and has loaded it.
_COORDINATOR_NOT_READY = frozenset(
    {
        KafkaError.NOT_COORDINATOR,
        KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
        KafkaError.COORDINATOR_NOT_AVAILABLE,
        KafkaError._TIMED_OUT,
        KafkaError.REQUEST_TIMED_OUT,
    }
)
PROBE_GROUP = "kpiflow-readiness-probe"  # only described, never joined


def metadata_answers(admin: AdminClient, timeout: float) -> bool:
    """True if the cluster returns metadata that lists a broker."""
    try:
        return bool(admin.list_topics(timeout=timeout).brokers)
    except KafkaException:
        return False


def groups_answer(admin: AdminClient, timeout: float) -> bool:
    """True once consumer groups can join and fetch offsets (the group coordinator is loaded).

    Any answer other than "coordinator not ready" counts, so a cluster that does not let us
    describe groups (ACLs) is not waited on forever.
    """
    try:
        listing = admin.list_consumer_groups(request_timeout=timeout).result()
        if any(error.code() in _COORDINATOR_NOT_READY for error in listing.errors):
            return False
        admin.describe_consumer_groups([PROBE_GROUP], request_timeout=timeout)[PROBE_GROUP].result()
    except KafkaException as exc:
        return exc.args[0].code() not in _COORDINATOR_NOT_READY
    return True


def require_kafka(
    bootstrap: str, config: dict[str, Any] | None = None, timeout: float = 5.0
) -> None:
    """Fail fast, with one line, when Kafka does not answer (instead of a client retrying and
    logging a connection error many times a second for minutes)."""
    unreachable = (
        "Start the local broker with `kpiflow up`, or set KPIFLOW_KAFKA_BOOTSTRAP_SERVERS to a "
        "broker that is running."
    )
    if not any(process.tcp_open(h, p, timeout=min(timeout, 2.0)) for h, p in hosts(bootstrap)):
        raise RuntimeServiceError(f"Kafka at {bootstrap} is not reachable. {unreachable}")
    if not metadata_answers(admin_client(bootstrap, config), timeout):
        raise RuntimeServiceError(
            f"Kafka at {bootstrap} accepts connections but did not answer within {timeout:.0f}s "
            f"(wrong port, TLS/SASL settings, or a broker still starting). {unreachable}"
        )


def poll_until_ready(
    bootstrap: str,
    timeout: float,
    config: dict[str, Any] | None = None,
    still_starting: Callable[[], bool] = lambda: True,
) -> bool:
    """Poll until the cluster answers metadata and group requests (True), `timeout` passes, or
    `still_starting()` turns False."""
    deadline = time.monotonic() + timeout
    admin = None
    while time.monotonic() < deadline and still_starting():
        if admin is None and any(process.tcp_open(h, p) for h, p in hosts(bootstrap)):
            # only now: a client with nothing to connect to logs a connection error a second
            admin = admin_client(bootstrap, config)
        wait = min(2.0, max(0.1, deadline - time.monotonic()))
        if admin is not None and metadata_answers(admin, wait) and groups_answer(admin, wait):
            return True
        time.sleep(0.1)
    return False


def wait_ready(bootstrap: str, timeout: float = 60.0, config: dict[str, Any] | None = None) -> None:
    """Return once the cluster at `bootstrap` answers; RuntimeServiceError after `timeout` s."""
    if not poll_until_ready(bootstrap, timeout, config):
        raise RuntimeServiceError(
            f"Kafka at {bootstrap} did not answer within {timeout:.0f}s. Start the local broker "
            "with `kpiflow up`, or set KPIFLOW_KAFKA_BOOTSTRAP_SERVERS to a broker that is running."
        )


def ensure_topics(
    bootstrap: str,
    topics: dict[str, int],
    retention_ms: dict[str, int] | None = None,
    *,
    config: dict[str, Any] | None = None,
    topic_config: dict[str, dict[str, str]] | None = None,
    timeout: float = 30.0,
) -> list[str]:
    """Create the topics of `topics` (name -> partitions) that are missing; return their names.

    `retention_ms` sets `retention.ms` of the topics it names (-1 keeps messages forever), at
    creation only. `topic_config` (name -> {key: value}) is set at creation and also on a topic
    that exists (an incremental SET, so other settings stay). Otherwise topics that exist are
    left as they are (a partition count is never changed: it would move keys to other
    partitions); a difference is logged. Replicas: the cluster's default.replication.factor.
    """
    admin = admin_client(bootstrap, config)
    existing = _describe(admin, bootstrap, timeout)
    for name, partitions in topics.items():
        if name in existing and existing[name] != partitions:
            log.warning(
                "topic %s has %d partitions, not %d: kept", name, existing[name], partitions
            )
    missing = [name for name in topics if name not in existing]
    extra = topic_config or {}
    present = {name: extra[name] for name in extra if name in existing}
    if present:
        _alter_configs(admin, present, bootstrap, timeout)
    if not missing:
        return []
    futures = admin.create_topics(
        [
            _new_topic(name, topics[name], (retention_ms or {}).get(name), extra.get(name))
            for name in missing
        ],
        request_timeout=timeout,
    )
    for name, future in futures.items():
        _created_or_exists(name, future, bootstrap, timeout)
    _wait_for_leaders(admin, missing, bootstrap, timeout)
    return missing


def _new_topic(
    name: str, partitions: int, retention_ms: int | None, extra: dict[str, str] | None = None
) -> NewTopic:
    config = {} if retention_ms is None else {"retention.ms": str(retention_ms)}
    config.update(extra or {})
    return NewTopic(name, num_partitions=partitions, replication_factor=-1, config=config)


def _alter_configs(
    admin: AdminClient, configs: dict[str, dict[str, str]], bootstrap: str, timeout: float
) -> None:
    resources = [
        ConfigResource(
            ConfigResource.Type.TOPIC,
            name,
            incremental_configs=[
                ConfigEntry(key, value, incremental_operation=AlterConfigOpType.SET)
                for key, value in entries.items()
            ],
        )
        for name, entries in configs.items()
    ]
    for resource, future in admin.incremental_alter_configs(
        resources, request_timeout=timeout
    ).items():
        try:
            future.result(timeout=timeout)
        except KafkaException as exc:
            raise RuntimeServiceError(
                f"Kafka at {bootstrap} refused to set {configs[resource.name]} on topic "
                f"{resource.name}: {exc.args[0].str()}. Set it by hand (kafka-configs.sh, or the "
                "console of a managed cluster), or give kpiflow's user AlterConfigs on the topic."
            ) from exc


def _describe(admin: AdminClient, bootstrap: str, timeout: float) -> dict[str, int]:
    """name -> partition count of every topic in the cluster."""
    try:
        metadata = admin.list_topics(timeout=timeout)
    except KafkaException as exc:
        raise RuntimeServiceError(
            f"cannot list the topics of Kafka at {bootstrap}: {exc}. Is the broker running "
            "(`kpiflow up`) and KPIFLOW_KAFKA_BOOTSTRAP_SERVERS right?"
        ) from exc
    return {name: len(topic.partitions) for name, topic in metadata.topics.items()}


def _created_or_exists(name: str, future: Any, bootstrap: str, timeout: float) -> None:
    try:
        future.result(timeout=timeout)
    except KafkaException as exc:
        error: KafkaError = exc.args[0]
        if error.code() == KafkaError.TOPIC_ALREADY_EXISTS:
            return
        raise RuntimeServiceError(
            f"Kafka at {bootstrap} refused to create topic {name}: {error.str()}. "
            "Check the topic settings (KPIFLOW_KAFKA_*) and the broker's permissions."
        ) from exc


def _wait_for_leaders(admin: AdminClient, names: list[str], bootstrap: str, timeout: float) -> None:
    """New topics can be used once every partition has a leader in the cluster metadata."""
    deadline = time.monotonic() + timeout
    while True:
        topics = admin.list_topics(timeout=timeout).topics
        if all(
            name in topics
            and topics[name].partitions
            and topics[name].error is None
            and all(p.leader >= 0 for p in topics[name].partitions.values())
            for name in names
        ):
            return
        if time.monotonic() >= deadline:
            raise RuntimeServiceError(
                f"topics {', '.join(names)} were created on {bootstrap} but have no leader after "
                f"{timeout:.0f}s; see the broker's log."
            )
        time.sleep(0.1)
