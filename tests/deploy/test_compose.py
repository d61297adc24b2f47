"""docker-compose.yml and the Dockerfile, parsed (no Docker engine runs here): Kafka's data on
its volume, the same Kafka as the local runtime, a pinned Grafana plugin, a worker healthcheck,
a non-root image with the tested dependency versions, and the dashboards where the providers
read them."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import yaml

from kpiflow.dashboards import provision
from kpiflow.runtime.kafka_install import kafka_version
from kpiflow.settings import PipelineSettings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


def mounts(service: str) -> dict[str, str]:
    """Volume or path -> where it is mounted in the service."""
    out = {}
    for item in SERVICES[service].get("volumes", []):
        source, target = item.split(":")[:2]
        out[source] = target
    return out


def test_kafka_keeps_its_data_on_its_volume_across_restarts():
    kafka = SERVICES["kafka"]
    env = kafka["environment"]
    assert env["KAFKA_LOG_DIRS"] == mounts("kafka")["kafka-data"]
    # a fixed KRaft cluster id (22 characters of URL-safe base64 of 16 bytes)
    assert len(base64.urlsafe_b64decode(env["CLUSTER_ID"] + "==")) == 16
    assert "kafka-data" in COMPOSE["volumes"]


def test_kafka_is_the_version_the_local_runtime_is_tested_with():
    image, tag = SERVICES["kafka"]["image"].split(":")
    assert image == "apache/kafka"
    assert tag.split(".")[:2] == kafka_version().split(".")[:2]


def test_the_grafana_plugin_is_pinned():
    plugins = SERVICES["grafana"]["environment"]["GF_INSTALL_PLUGINS"]
    assert re.fullmatch(r"grafana-clickhouse-datasource \d+\.\d+\.\d+", plugins)


def test_the_worker_has_a_healthcheck_on_its_state_endpoint():
    check = SERVICES["worker"]["healthcheck"]
    command = " ".join(check["test"])
    port = PipelineSettings.model_fields["worker_web_port"].default
    assert f"http://127.0.0.1:{port}/kpiflow/state" in command
    assert check["start_period"] and check["retries"] >= 3


def test_the_image_runs_as_a_user_with_the_tested_versions():
    lines = [line.strip() for line in (ROOT / "Dockerfile").read_text().splitlines()]
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0")
    install = next(line for line in lines if "pip install" in line)
    assert "-c constraints.txt" in install
    pinned = [
        line
        for line in (ROOT / "constraints.txt").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert pinned and all(re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[\w.+!\-]+", p) for p in pinned)
    names = {p.split("==")[0].lower() for p in pinned}
    assert {"faust-streaming", "clickhouse-connect", "chdb", "pydantic"} <= names


def test_the_dashboards_land_where_the_providers_read_them():
    command = SERVICES["dashboards"]["command"]
    out = command[command.index("--out") + 1]
    coaching = command[command.index("--coaching-out") + 1]
    volume = mounts("dashboards")["dashboards-json"]
    grafana = mounts("grafana")["dashboards-json"]
    providers = {
        p["folderUid"]: p["options"]["path"]
        for p in yaml.safe_load(provision.provider_yaml())["providers"]
    }
    # the same folders as seen from the dashboards service and from Grafana
    assert providers["kpiflow"] == grafana + out.removeprefix(volume)
    assert providers["kpiflow-coaching"] == grafana + coaching.removeprefix(volume)


def test_every_secret_comes_from_the_environment():
    text = (ROOT / "docker-compose.yml").read_text()
    for name in ("PASSWORD",):
        for line in text.splitlines():
            if name in line and ":" in line and not line.strip().startswith("#"):
                value = line.split(":", 1)[1].strip()
                assert value.startswith("${"), line
