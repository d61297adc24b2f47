"""Secrets never printed: `Settings().redacted()`, `kpiflow config`, reprs, URLs with passwords."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SECRETS = {
    "KPIFLOW_KAFKA_SASL_PASSWORD": "kafka-Pa55-word",
    "KPIFLOW_CLICKHOUSE_PASSWORD": "clickhouse-Pa55-word",
    "KPIFLOW_GRAFANA_TOKEN": "glsa_grafana-T0ken",
}
URL_SECRETS = {
    "KPIFLOW_CLICKHOUSE_DSN": (
        "http://kpiflow:dsn-Pa55-word@clickhouse:8123/kpiflow",
        "dsn-Pa55-word",
    ),
    "KPIFLOW_GRAFANA_URL": ("https://admin:url-Pa55-word@grafana:3000", "url-Pa55-word"),
}


def secret_env() -> dict[str, str]:
    env = dict(SECRETS)
    env |= {name: url for name, (url, _) in URL_SECRETS.items()}
    env |= {"KPIFLOW_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KPIFLOW_KAFKA_SASL_MECHANISM": "PLAIN"}
    env |= {"KPIFLOW_KAFKA_SASL_USERNAME": "kpiflow"}
    return env


def secret_values() -> list[str]:
    return [*SECRETS.values(), *(secret for _, secret in URL_SECRETS.values())]


@pytest.fixture
def secret_settings(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no .env of the developer
    for name, value in secret_env().items():
        monkeypatch.setenv(name, value)
    from kpiflow.settings import Settings

    return Settings()


def test_redacted_settings_hold_no_secret(secret_settings):
    dump = json.dumps(secret_settings.redacted(), default=str)
    for secret in secret_values():
        assert secret not in dump
    redacted = secret_settings.redacted()
    assert redacted["kafka"]["sasl_password"] == "**********"
    assert redacted["clickhouse"]["password"] == "**********"
    assert redacted["grafana"]["token"] == "**********"
    assert redacted["clickhouse"]["dsn"] == "http://kpiflow:***@clickhouse:8123/kpiflow"
    assert redacted["grafana"]["url"] == "https://admin:***@grafana:3000"


def test_secrets_are_still_usable_where_they_are_needed(secret_settings):
    conf = secret_settings.kafka.confluent_config()
    assert conf["sasl.password"] == SECRETS["KPIFLOW_KAFKA_SASL_PASSWORD"]
    assert (
        secret_settings.clickhouse.password.get_secret_value()
        == SECRETS["KPIFLOW_CLICKHOUSE_PASSWORD"]
    )


def test_reprs_of_secret_settings_do_not_show_them(secret_settings):
    for part in (secret_settings.kafka, secret_settings.clickhouse, secret_settings.grafana):
        text = repr(part) + str(part)
        for secret in SECRETS.values():
            assert secret not in text


def test_kpiflow_config_prints_no_secret(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("KPIFLOW_")}
    env |= secret_env() | {"KPIFLOW_DATA_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "kpiflow.cli", "config"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    for secret in secret_values():
        assert secret not in done.stdout and secret not in done.stderr
    assert "**********" in done.stdout


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("http://u:p@h:8123/db", "http://u:***@h:8123/db"),
        ("https://u:p%40ss@h", "https://u:***@h"),
        ("http://u@h:8123", "http://u@h:8123"),  # no password: unchanged
        ("chdb:///var/lib/kpiflow/clickhouse", "chdb:///var/lib/kpiflow/clickhouse"),
        ("plain text: with a colon @ and at", "plain text: with a colon @ and at"),
    ],
)
def test_url_passwords_are_masked(text, shown):
    from kpiflow.settings import without_url_password

    assert without_url_password(text) == shown
