"""Provisioning files: in sync with their generator, no secrets, consistent with the dashboards."""

from __future__ import annotations

import re

import pytest
import yaml

from kpiflow.dashboards import provision
from kpiflow.dashboards.defaults import DATASOURCE_TYPE, DEFAULT_DATASOURCE_UID, FOLDER_UID


@pytest.mark.parametrize("relative", sorted(provision.files(DEFAULT_DATASOURCE_UID)))
def test_committed_files_match_the_generator(relative):
    committed = (provision.PROVISIONING_DIR / relative).read_text(encoding="utf-8")
    assert committed == provision.files(DEFAULT_DATASOURCE_UID)[relative], (
        "regenerate: python -c 'from kpiflow.dashboards import provision as p; "
        'p.write(p.PROVISIONING_DIR, "kpiflow-clickhouse")\''
    )


def _load(relative: str) -> dict:
    return yaml.safe_load((provision.PROVISIONING_DIR / relative).read_text(encoding="utf-8"))


def test_datasource_comes_from_the_environment_and_holds_no_secret():
    ds, coaching = _load("datasources/clickhouse.yaml")["datasources"]
    assert ds["type"] == DATASOURCE_TYPE and ds["uid"] == DEFAULT_DATASOURCE_UID
    # the coaching board's own data source: the same server, its own read-only user
    assert coaching["uid"] == f"{DEFAULT_DATASOURCE_UID}-coaching" and not coaching["isDefault"]
    assert coaching["jsonData"]["username"] == "${KPIFLOW_GRAFANA_COACHING_CH_USER}"
    assert coaching["secureJsonData"] == {"password": "${KPIFLOW_GRAFANA_COACHING_CH_PASSWORD}"}
    assert coaching["jsonData"]["host"] == ds["jsonData"]["host"]
    json_data = ds["jsonData"]
    for key, var in (
        ("host", "HOST"),
        ("port", "PORT"),
        ("username", "USER"),
        ("defaultDatabase", "DATABASE"),
    ):
        assert json_data[key] == f"${{KPIFLOW_GRAFANA_CH_{var}}}"
    assert ds["secureJsonData"] == {"password": "${KPIFLOW_GRAFANA_CH_PASSWORD}"}
    assert "password" not in json_data
    assert json_data["protocol"] == "http" and ds["editable"] is False
    # every ${VAR} in the file is one Grafana is documented to need
    text = (provision.PROVISIONING_DIR / "datasources/clickhouse.yaml").read_text()
    assert set(re.findall(r"\$\{(\w+)\}", text)) == set(provision.GRAFANA_ENV)


def test_providers_read_the_built_json_folders():
    provider, coaching = _load("dashboards/provider.yaml")["providers"]
    assert provider["type"] == "file" and provider["folderUid"] == FOLDER_UID
    assert (
        provider["options"]["path"]
        == provision.DASHBOARDS_PATH
        == "/var/lib/grafana/dashboards/kpiflow"
    )
    assert provider["allowUiUpdates"] is False
    # the coaching board: its own folder, a sibling directory (a provider also reads subfolders,
    # so it must not sit inside the shared one), as `dashboards build` writes it
    assert (coaching["folder"], coaching["folderUid"]) == ("KPI Flow coaching", "kpiflow-coaching")
    assert coaching["options"]["path"] == "/var/lib/grafana/dashboards/kpiflow-coaching"
    from pathlib import PurePosixPath

    from kpiflow.dashboards.build import folder_dirs

    dirs = folder_dirs(PurePosixPath(provision.DASHBOARDS_PATH))  # type: ignore[arg-type]
    assert {k: str(v) for k, v in dirs.items()} == {
        FOLDER_UID: provider["options"]["path"],
        "kpiflow-coaching": coaching["options"]["path"],
    }


def test_alert_rule_master_kpi_behind_pace():
    text = (provision.PROVISIONING_DIR / "alerting/master-kpi-behind-pace.yaml").read_text()
    assert "$" not in text  # Grafana may expand `$...` in this file as an environment variable
    (group,) = _load("alerting/master-kpi-behind-pace.yaml")["groups"]
    (rule,) = group["rules"]
    assert rule["title"] == "Master KPI behind pace" and rule["condition"] == "C"
    query, threshold = rule["data"]
    assert query["datasourceUid"] == DEFAULT_DATASOURCE_UID
    sql = query["model"]["rawSql"]
    assert "FROM kpi_pacing" in sql and "is_master = 1" in sql and "on_track = 0" in sql
    assert sql == provision.MASTER_BEHIND.clean
    assert threshold["model"]["type"] == "threshold" and threshold["model"]["expression"] == "A"
    assert rule["noDataState"] == "OK"
    assert group["folder"] != "KPI Flow"  # not the dashboards' provisioned folder


def test_alert_rule_master_kpi_reached():
    text = (provision.PROVISIONING_DIR / "alerting/master-kpi-reached.yaml").read_text()
    assert "$" not in text
    (group,) = _load("alerting/master-kpi-reached.yaml")["groups"]
    (rule,) = group["rules"]
    assert rule["title"] == "Master KPI target reached" and rule["for"] == "0s"
    query, threshold = rule["data"]
    assert query["model"]["rawSql"] == provision.MASTER_REACHED.clean
    assert "FROM achievements" in query["model"]["rawSql"]
    assert threshold["model"]["conditions"][0]["evaluator"] == {"type": "gt", "params": [0]}
    assert "{{ .Labels.reward }}" in rule["annotations"]["description"]
    assert rule["noDataState"] == "OK" and group["folder"] != "KPI Flow"


def test_other_uid_is_written_everywhere(tmp_path):
    provision.write(tmp_path, "other-ch")
    for path in tmp_path.rglob("*.yaml"):
        assert DEFAULT_DATASOURCE_UID not in path.read_text()
    assert "uid: other-ch" in (tmp_path / "datasources/clickhouse.yaml").read_text()
