"""Apache Kafka's jars, fetched from Maven Central with Maven into a cache outside git.

The version and the artifacts are those of `kafka-pom.xml` beside this file. The cache is
`~/.cache/kpiflow/kafka-<version>` ($XDG_CACHE_HOME is honoured), or `KPIFLOW_KAFKA_HOME`; it holds
`libs/` (the class path), a copy of the pom, and `installed.json`, written last, which records
which pom the jars came from: a changed pom means a fresh download.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

from kpiflow.errors import RuntimeServiceError
from kpiflow.runtime import process
from kpiflow.runtime.kafka_config import java_major

POM = Path(__file__).with_name("kafka-pom.xml")
MIN_JAVA = 17  # Kafka 4.x brokers run on Java 17+
MAVEN_TIMEOUT = 900.0
_JDK_HINT = "Debian: apt-get install openjdk-17-jre-headless"
_POM_NS = {"m": "http://maven.apache.org/POM/4.0.0"}

Progress = Callable[[str], None]


def kafka_version(pom: Path = POM) -> str:
    """The Kafka version the pom asks for (its `kafka.version` property)."""
    node = ET.parse(pom).getroot().find("m:properties/m:kafka.version", _POM_NS)
    if node is None or not (node.text or "").strip():
        raise RuntimeServiceError(f"{pom} has no <kafka.version> property")
    return node.text.strip()


def kafka_home(version: str | None = None) -> Path:
    """Where the jars of `version` live: KPIFLOW_KAFKA_HOME, else the user's cache directory."""
    override = os.environ.get("KPIFLOW_KAFKA_HOME")
    if override:
        return Path(override).expanduser().resolve()
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return (cache / "kpiflow" / f"kafka-{version or kafka_version()}").resolve()


def libs_dir(home: Path) -> Path:
    return home / "libs"


def ensure_installed(progress: Progress | None = None) -> Path:
    """The Kafka home with every jar in `libs/`, fetched first if missing (idempotent)."""
    say = progress or _silent
    version = kafka_version()
    home = kafka_home(version)
    stamp = _stamp(version)
    if _installed(home, stamp):
        return home
    mvn = _require("mvn", "Maven fetches Kafka from Maven Central (Debian: apt-get install maven)")
    with process.locked(home / ".lock"):
        if _installed(home, stamp):  # another process fetched it while we waited
            return home
        say(f"fetching Apache Kafka {version} from Maven Central into {home} (once)")
        partial = home / f"libs.partial-{os.getpid()}"
        shutil.rmtree(partial, ignore_errors=True)
        shutil.copyfile(POM, home / "pom.xml")
        _copy_dependencies(mvn, home / "pom.xml", partial)
        shutil.rmtree(libs_dir(home), ignore_errors=True)
        partial.rename(libs_dir(home))
        (home / "installed.json").write_text(json.dumps(stamp, indent=2, sort_keys=True) + "\n")
    say(f"Kafka {version}: {len(list(libs_dir(home).glob('*.jar')))} jars in {libs_dir(home)}")
    return home


@functools.lru_cache(maxsize=1)
def java_executable() -> str:
    """The `java` to run Kafka with ($JAVA_HOME/bin/java, else PATH), checked to be 17 or newer."""
    java_home = os.environ.get("JAVA_HOME")
    candidate = Path(java_home) / "bin" / "java" if java_home else None
    java = str(candidate) if candidate and candidate.is_file() else None
    java = java or _require("java", f"the Kafka broker needs Java {MIN_JAVA}+ ({_JDK_HINT})")
    out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=60)
    major = java_major(out.stderr + out.stdout)
    if major is None or major < MIN_JAVA:
        raise RuntimeServiceError(
            f"{java} is Java {major or 'of unknown version'}; Kafka needs Java {MIN_JAVA} or "
            f"newer. Install it ({_JDK_HINT}) or set JAVA_HOME to one."
        )
    return java


def _stamp(version: str) -> dict[str, str]:
    return {"kafka_version": version, "pom_sha256": hashlib.sha256(POM.read_bytes()).hexdigest()}


def _installed(home: Path, stamp: dict[str, str]) -> bool:
    try:
        recorded = json.loads((home / "installed.json").read_text())
    except (OSError, ValueError):
        return False
    main_jar = libs_dir(home) / f"kafka_2.13-{stamp['kafka_version']}.jar"
    return recorded == stamp and main_jar.is_file()


def _copy_dependencies(mvn: str, pom: Path, out: Path) -> None:
    cmd = [mvn, "-q", "-B", "-f", str(pom), "dependency:copy-dependencies"]
    cmd.append(f"-DoutputDirectory={out}")
    try:
        result = subprocess.run(
            cmd, capture_output=True, text=True, timeout=MAVEN_TIMEOUT, cwd=pom.parent
        )
    except subprocess.TimeoutExpired as exc:
        raise RuntimeServiceError(
            f"Maven did not finish within {MAVEN_TIMEOUT:.0f}s fetching Kafka. Check that Maven "
            "Central is reachable (proxy settings go in ~/.m2/settings.xml), then run again."
        ) from exc
    if result.returncode != 0:
        shutil.rmtree(out, ignore_errors=True)
        output = "\n".join((result.stdout + result.stderr).splitlines()[-30:])
        raise RuntimeServiceError(
            f"Maven could not fetch Kafka (exit {result.returncode}): {' '.join(cmd)}\n{output}\n"
            "Check that Maven Central is reachable (proxy settings go in ~/.m2/settings.xml) and "
            "run again; a partial download is not kept."
        )


def _require(tool: str, why: str) -> str:
    path = shutil.which(tool)
    if not path:
        raise RuntimeServiceError(f"`{tool}` is not on PATH: {why}.")
    return path


def _silent(_: str) -> None:
    pass
