"""What the local broker is started with: its files, server.properties, log4j2 config, JVM flags.

Everything here is pure (text in, text out) so it can be unit-tested without Java or a broker.
"""

from __future__ import annotations

import base64
import os
import re
from dataclasses import dataclass
from pathlib import Path

MAIN_CLASS = "kafka.Kafka"
STORAGE_TOOL = "kafka.tools.StorageTool"

# Small heap: a single-node dev broker with a few topics. G1 with short pauses, as Kafka's own
# start scripts use; die on OOM instead of limping on.
JVM_OPTIONS = (
    "-Xms256m",
    "-Xmx1g",
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:+ExitOnOutOfMemoryError",
    "-Djava.awt.headless=true",
)

# Loggers that write a line per partition or per config value at INFO; kept at WARN so the log
# tells what the broker did (start, stop, group rebalances) in a few hundred lines, not thousands.
_QUIET_LOGGERS = (
    "org.apache.kafka.common.config.AbstractConfig",
    "state.change.logger",
    "kafka.cluster.Partition",
    "kafka.log.LogManager",
    "kafka.coordinator.transaction",
    "kafka.request.logger",
    "org.apache.kafka.storage.internals.log",
    "org.apache.kafka.controller.ReplicationControlManager",
    "org.apache.kafka.coordinator.common.runtime",
)


@dataclass(frozen=True)
class BrokerFiles:
    """Where the broker of one data directory keeps its files: `<data_dir>/kafka/...`."""

    root: Path

    @classmethod
    def of(cls, data_dir: Path) -> BrokerFiles:
        return cls(Path(data_dir).resolve() / "kafka")

    @property
    def config(self) -> Path:
        return self.root / "server.properties"

    @property
    def log4j(self) -> Path:
        return self.root / "log4j2.properties"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def log(self) -> Path:
        return self.root / "kafka.log"

    @property
    def pid_file(self) -> Path:
        return self.root / "kafka.pid"

    @property
    def lock(self) -> Path:
        return self.root / ".lock"

    @property
    def formatted(self) -> bool:
        """StorageTool writes meta.properties into the log dir; its presence means formatted."""
        return (self.data / "meta.properties").is_file()


def server_properties(data_dir: Path, port: int, controller_port: int) -> dict[str, str]:
    """The settings of a single-node KRaft broker+controller listening on loopback only."""
    return {
        "node.id": "1",
        "process.roles": "broker,controller",
        "listeners": f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{port}",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "inter.broker.listener.name": "PLAINTEXT",
        "controller.listener.names": "CONTROLLER",
        # dynamic quorum (formatted with --standalone): the controller finds itself here
        "controller.quorum.bootstrap.servers": f"127.0.0.1:{controller_port}",
        "log.dirs": str(data_dir),
        "num.partitions": "1",
        "auto.create.topics.enable": "false",
        # one node: every internal topic has one replica
        "offsets.topic.replication.factor": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        # fewer internal partitions than the default 50: faster first group join and restart
        "offsets.topic.num.partitions": "10",
        "transaction.state.log.num.partitions": "10",
        # after a crash (SIGKILL) the restarted controller waits out the dead broker's session
        # before the broker may register again: 4 s instead of 9 s
        "broker.session.timeout.ms": "4000",
        "broker.heartbeat.interval.ms": "1000",
        # a consumer group (Faust) starts consuming as soon as it joins, no 3 s wait
        "group.initial.rebalance.delay.ms": "0",
        # the compaction buffer is sized for the 1 GiB heap (Kafka's default is 128 MiB)
        "log.cleaner.dedupe.buffer.size": str(32 * 1024 * 1024),
    }


def render_properties(values: dict[str, str], header: str) -> str:
    """Java .properties text, one `key=value` a line, in the given order."""
    lines = [f"# {line}" if line else "#" for line in header.splitlines()]
    lines += [f"{key}={_escape(value)}" for key, value in values.items()]
    return "\n".join(lines) + "\n"


def render_server_properties(data_dir: Path, port: int, controller_port: int) -> str:
    if port == controller_port:
        raise ValueError(f"broker and controller need two ports, both are {port}")
    header = "Written by kpiflow at every start (kpiflow/runtime/kafka_config.py): edits are lost."
    return render_properties(server_properties(data_dir, port, controller_port), header)


def render_log4j2() -> str:
    """log4j2 config: everything to stdout (which the launcher sends to kafka.log)."""
    values = {
        "status": "warn",
        "appender.out.type": "Console",
        "appender.out.name": "out",
        "appender.out.layout.type": "PatternLayout",
        "appender.out.layout.pattern": "[%d] %p %m (%c)%n",
        "rootLogger.level": "INFO",
        "rootLogger.appenderRef.out.ref": "out",
    }
    for i, name in enumerate(_QUIET_LOGGERS):
        values[f"logger.q{i}.name"] = name
        values[f"logger.q{i}.level"] = "WARN"
    return render_properties(values, "Written by kpiflow at every start: edits are lost.")


def java_command(java: str, libs: Path, log4j: Path, main: str, *args: str) -> list[str]:
    """The java command line of the broker or one of its tools."""
    return [
        java,
        *JVM_OPTIONS,
        f"-Dlog4j2.configurationFile={log4j.as_uri()}",
        "-cp",
        f"{libs}{os.sep}*",
        main,
        *args,
    ]


def new_cluster_id(random_bytes: bytes | None = None) -> str:
    """A cluster id as Kafka makes them: 16 random bytes, URL-safe base64 without padding.

    Kafka's own generator never returns an id that starts with "-" (a command line would read it
    as an option); neither does this one.
    """
    while True:
        raw = random_bytes if random_bytes is not None else os.urandom(16)
        text = base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")
        if not text.startswith("-"):
            return text
        if random_bytes is not None:
            raise ValueError("these bytes give a cluster id starting with '-'")


def java_major(version_output: str) -> int | None:
    """The major version from `java -version` output ("1.8.0_392" is 8, "17.0.15" is 17)."""
    match = re.search(r'version "(\d+)(?:\.(\d+))?', version_output)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


def read_ports(config_text: str) -> tuple[int, int] | None:
    """(broker port, controller port) from a server.properties written by this module."""
    pattern = r"^listeners=PLAINTEXT://[^:]+:(\d+),CONTROLLER://[^:]+:(\d+)$"
    match = re.search(pattern, config_text, re.M)
    return (int(match.group(1)), int(match.group(2))) if match else None


def _escape(value: str) -> str:
    # .properties treats backslash as an escape; Windows paths would need it doubled
    return value.replace("\\", "\\\\")
