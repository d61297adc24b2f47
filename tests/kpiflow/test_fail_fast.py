"""Commands fail fast and plainly: Kafka away, a missing file, an unknown version, no data."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from tests.support.pipeline_env import free_port


def _cli(tmp_path, *args: str, **env: str) -> tuple[subprocess.CompletedProcess, float]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("KPIFLOW_")}
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "kpiflow.cli", *args],
        cwd=tmp_path,
        env=clean | {"COLUMNS": "300", "KPIFLOW_DATA_DIR": str(tmp_path / "data")} | env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return done, time.monotonic() - started


@pytest.mark.parametrize(
    "args",
    [("publish", "events.jsonl"), ("status",), ("wait", "--timeout", "60"), ("verify",)],
)
def test_kafka_away_is_one_clear_line_within_seconds(tmp_path, args):
    (tmp_path / "events.jsonl").write_text("{}\n")
    nobody = f"127.0.0.1:{free_port()}"
    done, seconds = _cli(tmp_path, *args, KPIFLOW_KAFKA_BOOTSTRAP_SERVERS=nobody)
    assert done.returncode == 2, done.stdout + done.stderr
    assert seconds < 30, seconds
    out = done.stdout + done.stderr
    assert f"Kafka at {nobody} is not reachable" in out, out
    assert "kpiflow up" in out
    assert "Traceback" not in out and "Connection refused" not in out, out


def test_publish_of_a_missing_file_says_so_without_a_traceback(tmp_path):
    done, _ = _cli(tmp_path, "publish", "nope.jsonl")
    assert done.returncode == 2
    assert "nope.jsonl: no such file" in done.stderr
    assert "Traceback" not in done.stderr


def test_an_unknown_version_is_an_error_and_an_empty_report_says_why(tmp_path):
    unknown, _ = _cli(tmp_path, "report", "activities", "-g", "week", "-b", "all", "--version", "7")
    assert unknown.returncode == 2 and "no definition version 7" in unknown.stderr
    empty, _ = _cli(tmp_path, "report", "activities", "-g", "week", "-b", "all")
    assert empty.returncode == 0, empty.stderr
    assert "the raw event log is empty" in empty.stderr
    assert str((tmp_path / "data").resolve()) in empty.stderr


def test_version_flag(tmp_path):
    done, _ = _cli(tmp_path, "--version")
    assert done.returncode == 0 and done.stdout.startswith("kpiflow ")
