"""One worker per embedded store: who is in the worker's consumer group, read from Kafka.

With the embedded ClickHouse each worker process writes its own database under its own data
directory. A second worker in the same consumer group would take some partitions and store their
events where the first worker (and every command talking to it) never looks: the data would be
split for good. So a worker on the embedded engine starts only when its group has no members.
A member of a killed worker stays listed until its session times out; the check waits that long.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from kpiflow.errors import ConfigError
from kpiflow.settings import Settings

log = logging.getLogger("kpiflow.worker")


@dataclass(frozen=True, slots=True)
class Member:
    client_id: str
    host: str

    def __str__(self) -> str:
        return f"{self.client_id} on {self.host.lstrip('/')}"


def group_members(settings: Settings, timeout: float = 10.0) -> list[Member] | None:
    """Members of the worker's consumer group now; None when Kafka could not say."""
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient

    admin = AdminClient(settings.kafka.confluent_config())
    group = settings.kafka.consumer_group
    try:
        future = admin.describe_consumer_groups([group], request_timeout=timeout)[group]
        description = future.result(timeout=timeout)
    except KafkaException as exc:
        log.warning("could not describe consumer group %s: %s", group, exc)
        return None
    return [Member(m.client_id, m.host) for m in description.members]


def ensure_sole_worker(settings: Settings, wait: float) -> None:
    """Refuse to start a second worker on an embedded store (see the module's docstring)."""
    deadline = time.monotonic() + wait
    members = group_members(settings)
    if members:
        log.warning(
            "consumer group %s has %d member(s); waiting up to %.0fs for them to leave (a worker "
            "that was killed stays listed until its session times out)",
            settings.kafka.consumer_group,
            len(members),
            wait,
        )
    while members and time.monotonic() < deadline:
        time.sleep(1.0)
        members = group_members(settings)
    if members:
        raise ConfigError(
            f"another worker is running in consumer group {settings.kafka.consumer_group} "
            f"({', '.join(str(m) for m in members)}). With the embedded ClickHouse each worker "
            f"writes its own database (this one: {settings.pipeline.data_dir}), so a second "
            "worker would split the data between two stores. Stop the other worker first, or "
            "run several workers against one ClickHouse server (KPIFLOW_CLICKHOUSE_DSN=http://...)."
        )
