"""Every command says which data directory it uses, and warns before starting from a new one."""

from __future__ import annotations

import os
import subprocess
import sys


def _config(cwd, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("KPIFLOW_")}
    return subprocess.run(
        [sys.executable, "-m", "kpiflow.cli", "config"],
        cwd=cwd,
        env=clean | {"COLUMNS": "300"} | env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_command_in_a_folder_without_data_warns_that_it_starts_empty(tmp_path):
    done = _config(tmp_path)
    assert done.returncode == 0, done.stderr
    expected = tmp_path.resolve() / ".kpiflow"
    assert f"data directory {expected} does not exist" in done.stderr, done.stderr
    assert "Run it from the folder you ran `kpiflow up` in" in done.stderr
    assert not expected.exists()  # `config` creates nothing


def test_an_existing_data_directory_is_named(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    done = _config(tmp_path, KPIFLOW_DATA_DIR=str(data))
    assert done.returncode == 0, done.stderr
    assert f"data directory: {data.resolve()}" in done.stderr, done.stderr
    assert "does not exist" not in done.stderr


def test_a_bad_setting_is_named_by_its_variable_and_config_still_prints_the_rest(tmp_path):
    done = _config(tmp_path, KPIFLOW_TIMEZONE="Mars/Base", KPIFLOW_KAFKA_PARTITIONS="x")
    assert done.returncode == 2, done.stderr
    assert "KPIFLOW_TIMEZONE: unknown time zone 'Mars/Base'" in done.stderr, done.stderr
    assert "KPIFLOW_KAFKA_PARTITIONS:" in done.stderr, done.stderr
    assert '"clickhouse": {' in done.stdout  # the valid groups are still printed
