"""The distribution installs one import namespace: the top-level folders live under `kpiflow`."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FOLDERS = {
    "events": "events",
    "streams": "streams",
    "projections": "projections",
    "dashboards": "dashboards",
}


def _python(code: str, cwd: Path) -> subprocess.CompletedProcess:
    # -P: the working directory is not put on sys.path, as for any installed program
    return subprocess.run(
        [sys.executable, "-P", "-c", code], cwd=cwd, capture_output=True, text=True
    )


@pytest.mark.parametrize("name", FOLDERS)
def test_bare_folder_names_are_not_importable(name, tmp_path):
    done = _python(f"import {name}", tmp_path)
    assert done.returncode != 0
    assert f"No module named '{name}'" in done.stderr


@pytest.mark.parametrize("name", FOLDERS)
def test_folders_import_as_kpiflow_subpackages(name, tmp_path):
    done = _python(f"import kpiflow.{name} as m; print(m.__file__)", tmp_path)
    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.strip()) == REPO / name / "__init__.py"


def test_wheel_holds_nothing_outside_kpiflow(tmp_path):
    """What `pip install .` puts in site-packages: kpiflow/ and its dist-info, nothing else."""
    src = tmp_path / "src"  # a copy: building writes build/ and *.egg-info beside the sources
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in ("kpiflow", *FOLDERS):
        shutil.copytree(REPO / folder, src / folder, ignore=ignore)
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(src)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = tmp_path.glob("kpiflow-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/", 1)[0] for n in names}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"kpiflow"}
    # every package of the source tree is in the wheel (pyproject lists them one by one)
    for folder in FOLDERS:
        for init in (REPO / folder).rglob("__init__.py"):
            assert f"kpiflow/{init.relative_to(REPO).as_posix()}" in names
    for init in (REPO / "kpiflow").rglob("__init__.py"):
        assert init.relative_to(REPO).as_posix() in names
    # data files travel with their packages
    assert "kpiflow/projections/migrations/0001_raw_log.sql" in names
    assert "kpiflow/projections/security/users.sql" in names
    assert "kpiflow/runtime/kafka-pom.xml" in names
    assert "kpiflow/dashboards/provisioning/datasources/clickhouse.yaml" in names
