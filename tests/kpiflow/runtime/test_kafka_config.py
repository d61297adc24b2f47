"""The local broker's configuration, rendered without Java or a broker."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from kpiflow.runtime.kafka_config import (
    BrokerFiles,
    java_command,
    java_major,
    new_cluster_id,
    read_ports,
    render_log4j2,
    render_server_properties,
)
from kpiflow.runtime.kafka_install import kafka_version


def parse(text: str) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))
    return dict(pairs)


def test_server_properties_single_node_kraft_on_loopback():
    props = parse(render_server_properties(Path("/d/kafka/data"), 19092, 19093))

    assert props["node.id"] == "1"
    assert props["process.roles"] == "broker,controller"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:19092"
    assert props["controller.listener.names"] == "CONTROLLER"
    assert props["controller.quorum.bootstrap.servers"] == "127.0.0.1:19093"
    assert "controller.quorum.voters" not in props  # --standalone formats a dynamic quorum
    assert props["log.dirs"] == "/d/kafka/data"
    assert props["auto.create.topics.enable"] == "false"
    assert props["group.initial.rebalance.delay.ms"] == "0"
    for key in (
        "offsets.topic.replication.factor",
        "transaction.state.log.replication.factor",
        "transaction.state.log.min.isr",
    ):
        assert props[key] == "1", key


def test_server_properties_text_is_stable_and_ports_read_back():
    text = render_server_properties(Path("/d"), 9092, 9093)

    assert text == render_server_properties(Path("/d"), 9092, 9093)
    assert text.startswith("# Written by kpiflow")
    assert text.endswith("\n")
    assert read_ports(text) == (9092, 9093)
    assert read_ports("node.id=1\n") is None


def test_broker_and_controller_need_two_ports():
    with pytest.raises(ValueError, match="two ports"):
        render_server_properties(Path("/d"), 9092, 9092)


def test_log4j_quietens_per_partition_loggers_and_writes_to_stdout():
    props = parse(render_log4j2())

    assert props["appender.out.type"] == "Console"
    assert props["rootLogger.level"] == "INFO"
    names = [k for k in props if k.startswith("logger.") and k.endswith(".name")]
    quiet = {props[k]: props[k.replace(".name", ".level")] for k in names}
    assert quiet["state.change.logger"] == "WARN"
    assert quiet["org.apache.kafka.common.config.AbstractConfig"] == "WARN"


def test_broker_files_live_under_the_data_dir(tmp_path):
    files = BrokerFiles.of(tmp_path)

    assert files.root == tmp_path.resolve() / "kafka"
    assert files.config.parent == files.log.parent == files.pid_file.parent == files.root
    assert files.data == files.root / "data"
    assert not files.formatted
    files.data.mkdir(parents=True)
    (files.data / "meta.properties").write_text("cluster.id=x\n")
    assert files.formatted


def test_java_command_puts_every_jar_on_the_class_path_and_limits_the_heap():
    log4j = Path("/d/log4j2.properties")
    cmd = java_command("java", Path("/k/libs"), log4j, "kafka.Kafka", "/d/s.p")

    assert cmd[0] == "java"
    assert cmd[-2:] == ["kafka.Kafka", "/d/s.p"]
    assert cmd[cmd.index("-cp") + 1] == "/k/libs/*"
    assert "-Xmx1g" in cmd
    assert "-Dlog4j2.configurationFile=file:///d/log4j2.properties" in cmd


def test_cluster_id_is_16_bytes_url_safe_base64_without_padding():
    cluster_id = new_cluster_id()

    assert len(cluster_id) == 22
    assert not cluster_id.startswith("-")
    assert len(base64.urlsafe_b64decode(cluster_id + "==")) == 16
    assert new_cluster_id(bytes(16)) == "AAAAAAAAAAAAAAAAAAAAAA"
    with pytest.raises(ValueError):
        new_cluster_id(b"\xfb" + bytes(15))  # encodes to "-w..."


@pytest.mark.parametrize(
    ("output", "major"),
    [
        ('openjdk version "17.0.15" 2025-04-15\nOpenJDK Runtime Environment', 17),
        ('java version "1.8.0_392"', 8),
        ('openjdk version "21" 2023-09-19', 21),
        ("something else", None),
    ],
)
def test_java_major(output, major):
    assert java_major(output) == major


def test_kafka_version_comes_from_the_pom():
    assert kafka_version().split(".")[0] == "4"
