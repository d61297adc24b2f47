"""`kpiflow import ... --dry-run` as a user runs it: the summary, the bad rows, the exit codes,
and one clear line (no traceback) for a missing file or a broken mapping."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.streams.crm_import.import_cases import DEALS, DEALS_MAPPING


def kpiflow(*args: str, cwd=None) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "200"}
    env.pop("KPIFLOW_TEST_CHDB_DSN", None)
    return subprocess.run(
        [sys.executable, "-m", "kpiflow.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
    )


def test_dry_run_prints_the_summary_and_publishes_nothing(tmp_path):
    done = kpiflow(
        "import", "deals", str(DEALS), "--mapping", str(DEALS_MAPPING), "--dry-run", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "8 rows, 8 imported, 0 skipped" in out
    assert (
        "events (would publish): deal.amount_changed 3, deal.opened 8, deal.stage_changed 6" in out
    )
    assert "dates: 2026-01-05T00:00:00-05:00 .. 2026-03-20T00:00:00-04:00" in out
    assert "owners: 3 (Ana Ruiz, Ben Okafor, Cleo Park)" in out
    assert "teams: 2 (Mara Lind, Tomas Berg)" in out
    assert not (tmp_path / ".kpiflow").exists()  # no data directory, no Kafka


def test_bad_rows_are_listed_and_the_exit_code_says_so(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(DEALS.read_text() + "OPP-9,Ana Ruiz,GTX Pro,Acme,Won,02/30/2026,,1,1\n")
    done = kpiflow("import", "deals", str(bad), "-m", str(DEALS_MAPPING), "--dry-run")
    assert done.returncode == 1
    assert "9 rows, 8 imported, 1 skipped" in done.stdout
    assert "line 10: engage_date: '02/30/2026' is not a date on the calendar" in done.stdout


def test_a_missing_file_and_a_broken_mapping_are_one_clear_error(tmp_path):
    done = kpiflow(
        "import", "deals", str(tmp_path / "nope.csv"), "-m", str(DEALS_MAPPING), "--dry-run"
    )
    assert done.returncode == 2
    assert "nope.csv: no such file" in done.stderr and "Traceback" not in done.stderr
    mapping = tmp_path / "m.yaml"
    mapping.write_text(DEALS_MAPPING.read_text().replace("  Won: won", "  Won: victory"))
    done = kpiflow("import", "deals", str(DEALS), "-m", str(mapping), "--dry-run")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "m.yaml:" in done.stderr and "stages.Won" in done.stderr and "victory" in done.stderr
