"""Fetching Kafka: the cache, and what the user is told when a tool is missing or Maven fails.

A stand-in `mvn` script replaces Maven, so these run in a moment and without a network.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from kpiflow.errors import RuntimeServiceError
from kpiflow.runtime import kafka_install
from kpiflow.runtime.kafka_admin import hosts


def fake_mvn(bin_dir: Path, script: str) -> None:
    bin_dir.mkdir(exist_ok=True)
    mvn = bin_dir / "mvn"
    mvn.write_text("#!/bin/sh\n" + script)
    mvn.chmod(mvn.stat().st_mode | stat.S_IEXEC)


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("KPIFLOW_KAFKA_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def test_home_defaults_to_the_user_cache(monkeypatch, tmp_path):
    monkeypatch.delenv("KPIFLOW_KAFKA_HOME", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))

    assert kafka_install.kafka_home("9.9.9") == tmp_path / "kpiflow" / "kafka-9.9.9"


def test_missing_maven_is_named_with_the_fix(home, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))

    with pytest.raises(RuntimeServiceError, match=r"`mvn` is not on PATH.*apt-get install maven"):
        kafka_install.ensure_installed()


def test_maven_failure_shows_its_output_and_keeps_nothing(home, monkeypatch, tmp_path):
    fake_mvn(tmp_path / "bin", 'echo "[ERROR] Could not resolve kafka_2.13"\nexit 1\n')
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")

    with pytest.raises(RuntimeServiceError, match=r"(?s)exit 1.*Could not resolve.*Maven Central"):
        kafka_install.ensure_installed()
    assert not (home / "libs").exists()
    assert not (home / "installed.json").exists()
    assert not list(home.glob("libs.partial-*"))


def test_install_runs_maven_once_then_uses_the_cache(home, monkeypatch, tmp_path):
    version = kafka_install.kafka_version()
    calls = tmp_path / "calls"
    # copy-dependencies stand-in: one jar into -DoutputDirectory=..., and count the calls
    fake_mvn(
        tmp_path / "bin",
        f"""
echo run >> {calls}
for arg in "$@"; do
  case "$arg" in -DoutputDirectory=*) out="${{arg#-DoutputDirectory=}}";; esac
done
mkdir -p "$out" && touch "$out/kafka_2.13-{version}.jar"
""",
    )
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    said: list[str] = []

    first = kafka_install.ensure_installed(said.append)
    second = kafka_install.ensure_installed(said.append)

    assert first == second == home
    assert calls.read_text().count("run") == 1
    assert (home / "libs" / f"kafka_2.13-{version}.jar").is_file()
    assert json.loads((home / "installed.json").read_text())["kafka_version"] == version
    assert any("Maven Central" in line for line in said)


def test_a_changed_pom_fetches_again(home, monkeypatch, tmp_path):
    home.mkdir()
    (home / "libs").mkdir()
    (home / "installed.json").write_text(json.dumps({"kafka_version": "0.0.1", "pom_sha256": "x"}))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))

    with pytest.raises(RuntimeServiceError, match="mvn"):
        kafka_install.ensure_installed()  # the stale cache is not taken for the pom's version


def test_bootstrap_hosts_are_parsed():
    assert hosts("127.0.0.1:9092") == [("127.0.0.1", 9092)]
    assert hosts("a:1, PLAINTEXT://b:2,[::1]:3") == [("a", 1), ("b", 2), ("::1", 3)]
    assert hosts("nohost") == []
