"""The local Kafka: a single-node KRaft broker+controller on loopback, from Maven Central's jars.

    home = ensure_installed()                 # jars into ~/.cache/kpiflow/kafka-<version>, once
    broker = start(data_dir, port=9092)       # <data_dir>/kafka/{server.properties,data,kafka.log}
    ensure_topics(broker.bootstrap, {"sales.events": 6}, retention_ms={"sales.events": -1})
    stop(data_dir)

The broker runs detached (its own session) and outlives the command that started it; it is found
again through `<data_dir>/kafka/kafka.pid`. Storage is formatted once (`StorageTool format
--standalone`), so topics, messages and committed offsets survive stop/start and kill/start.

Version: Apache Kafka 4.3.1 (set in kafka-pom.xml). Checked here, on this broker: aiokafka 0.14
(the client of faust-streaming 0.15.3) produces (idempotent and transactional), consumes in a
consumer group and commits offsets, and a Faust app with a table (changelog topic created by
Faust, auto-create off) runs; confluent-kafka 2.16 producer, consumer and AdminClient work too.
So the 4.x protocol clean-up (KIP-896) does not affect our clients and 3.9 is not needed. 4.3.1
rather than 4.4.0: the newest bug-fix release, and the newest for which every Kafka artifact we
use (kafka-tools included) is on Maven Central here.

Looking inside a running broker with Kafka's own CLI, e.g. the consumer groups:
    java -cp "$HOME/.cache/kpiflow/kafka-4.3.1/libs/*" \\
        org.apache.kafka.tools.consumer.group.ConsumerGroupCommand \\
        --bootstrap-server 127.0.0.1:9092 --describe --all-groups
"""

from __future__ import annotations

import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

from kpiflow.errors import RuntimeServiceError
from kpiflow.runtime import process
from kpiflow.runtime.kafka_admin import ensure_topics, poll_until_ready, wait_ready
from kpiflow.runtime.kafka_config import (
    MAIN_CLASS,
    STORAGE_TOOL,
    BrokerFiles,
    java_command,
    new_cluster_id,
    read_ports,
    render_log4j2,
    render_server_properties,
)
from kpiflow.runtime.kafka_install import (
    Progress,
    ensure_installed,
    java_executable,
    kafka_version,
    libs_dir,
)

__all__ = [
    "BrokerHandle",
    "ensure_installed",
    "ensure_topics",
    "is_running",
    "kill",
    "pid",
    "start",
    "stop",
    "wait_ready",
]

START_TIMEOUT = 120.0
MAX_LOG_BYTES = 20 * 1024 * 1024  # kafka.log moves to kafka.log.1 at a start once larger


@dataclass(frozen=True)
class BrokerHandle:
    """A running local broker."""

    data_dir: Path
    pid: int
    port: int
    controller_port: int
    version: str

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return BrokerFiles.of(self.data_dir).log


def start(
    data_dir: Path,
    port: int = 9092,
    controller_port: int | None = None,
    progress: Progress | None = None,
    *,
    timeout: float = START_TIMEOUT,
) -> BrokerHandle:
    """Start the broker of `data_dir` on 127.0.0.1:`port` and wait until it answers.

    Idempotent: when this data directory's broker is already running on `port`, it is returned.
    `controller_port` defaults to `port + 1`, or a free port if that one is taken.
    """
    say = progress or _silent
    files = BrokerFiles.of(data_dir)
    files.root.mkdir(parents=True, exist_ok=True)
    with process.locked(files.lock):
        running = pid(data_dir)
        if running is not None:
            return _attach(files, running, port, timeout)
        home = ensure_installed(progress)
        cport = controller_port or _default_controller_port(port)
        _check_ports_free(port, cport)
        _write_config(files, port, cport)
        java = java_executable()
        if not files.formatted:
            say(f"formatting Kafka storage in {files.data}")
            _format_storage(java, libs_dir(home), files)
        process.rotate(files.log, MAX_LOG_BYTES)
        say(f"starting Kafka {kafka_version()} on 127.0.0.1:{port} (log: {files.log})")
        argv = java_command(java, libs_dir(home), files.log4j, MAIN_CLASS, str(files.config))
        new_pid = process.launch_detached(argv, files.log, cwd=files.root)
        process.write_pid(files.pid_file, new_pid)
        handle = BrokerHandle(Path(data_dir).resolve(), new_pid, port, cport, kafka_version())
        _await_started(handle, files, timeout)
    say(f"Kafka ready on {handle.bootstrap} (pid {handle.pid})")
    return handle


def stop(data_dir: Path, timeout: float = 30) -> bool:
    """Stop the broker of `data_dir` (SIGTERM, SIGKILL after `timeout` s); False if not running."""
    return _end(data_dir, graceful_timeout=timeout)


def kill(data_dir: Path) -> bool:
    """SIGKILL the broker of `data_dir` (a crash, for fault tests); False if not running."""
    return _end(data_dir, graceful_timeout=None)


def is_running(data_dir: Path) -> bool:
    return pid(data_dir) is not None


def pid(data_dir: Path) -> int | None:
    """The pid of the broker started from `data_dir`, if it is running."""
    files = BrokerFiles.of(data_dir)
    return process.read_pid(files.pid_file, str(files.config))


def _end(data_dir: Path, graceful_timeout: float | None) -> bool:
    files = BrokerFiles.of(data_dir)
    running = pid(data_dir)
    if running is not None:
        if graceful_timeout is None:
            process.send(running, signal.SIGKILL)
            process.wait_gone(running, 30)
        else:
            process.terminate(running, graceful_timeout)
    files.pid_file.unlink(missing_ok=True)
    return running is not None


def _attach(files: BrokerFiles, running: int, port: int, timeout: float) -> BrokerHandle:
    """The handle of this data directory's broker, which is already running."""
    ports = read_ports(files.config.read_text())
    if ports is None:
        raise RuntimeServiceError(
            f"{files.config} has no listeners line; stop the broker (pid {running}), start again."
        )
    if ports[0] != port:
        raise RuntimeServiceError(
            f"the Kafka broker of {files.root.parent} already runs on port {ports[0]}, not {port}. "
            "Use that port (KPIFLOW_KAFKA_BOOTSTRAP_SERVERS) or stop it first (`kpiflow down`)."
        )
    handle = BrokerHandle(files.root.parent, running, ports[0], ports[1], kafka_version())
    _await_started(handle, files, timeout)
    return handle


def _default_controller_port(port: int) -> int:
    return port + 1 if process.port_free(port + 1) else process.free_port()


def _check_ports_free(port: int, controller_port: int) -> None:
    for what, p in (("broker", port), ("controller", controller_port)):
        if not process.port_free(p):
            raise RuntimeServiceError(
                f"port {p} on 127.0.0.1 (Kafka {what}) is taken by another process, not by the "
                f"broker of this data directory. See who holds it with `ss -ltnp 'sport = :{p}'`; "
                "stop it, or choose other ports (KPIFLOW_KAFKA_BOOTSTRAP_SERVERS)."
            )


def _write_config(files: BrokerFiles, port: int, controller_port: int) -> None:
    files.config.write_text(render_server_properties(files.data, port, controller_port))
    files.log4j.write_text(render_log4j2())


def _format_storage(java: str, libs: Path, files: BrokerFiles) -> None:
    args = ["format", "--standalone", "--ignore-formatted", "-t", new_cluster_id()]
    args += ["-c", str(files.config)]
    cmd = java_command(java, libs, files.log4j, STORAGE_TOOL, *args)
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        output = "\n".join((result.stdout + result.stderr).splitlines()[-20:])
        raise RuntimeServiceError(
            f"formatting Kafka storage in {files.data} failed (exit {result.returncode}):\n{output}"
        )


def _await_started(handle: BrokerHandle, files: BrokerFiles, timeout: float) -> None:
    def still_running() -> bool:
        return process.alive(handle.pid)

    if poll_until_ready(handle.bootstrap, timeout, still_starting=still_running):
        return
    died = not still_running()
    if not died:
        process.terminate(handle.pid, 30)
    files.pid_file.unlink(missing_ok=True)
    what = "exited while starting" if died else f"gave no answer in {timeout:.0f}s and was stopped"
    raise RuntimeServiceError(
        f"Kafka on {handle.bootstrap} {what}. Last lines of {files.log}:\n"
        f"{process.tail(files.log)}\n"
        "Common causes: a port taken by another process, too little memory, a damaged data "
        f"directory (removing {files.data} deletes every topic and message, then start again)."
    )


def _silent(_: str) -> None:
    pass
