"""`kpiflow import` through the real Kafka, the worker and the embedded ClickHouse: the example
export gives the hand-computed KPIs, importing it again adds nothing, a later export adds exactly
its new facts, and bad rows are reported while the good ones import."""

from __future__ import annotations

import json

import pytest

from tests.integration.test_projections_live import _cli, live_rows
from tests.streams.crm_import.import_cases import (
    APRIL,
    CLOSE_RATE,
    DEALS,
    DEALS_MAPPING,
    LATER_NEW_EVENTS,
    PIPELINE,
    TEAM_WON_VALUE_MARCH,
    VELOCITY,
    WON_DEALS,
    WON_VALUE,
    later_export,
    month_values,
)

pytestmark = pytest.mark.integration


def raw_count(pipeline) -> int:
    return int(pipeline.gateway().scalar("SELECT uniqExact(event_id) FROM {db}.raw_event_log"))


def imported(pipeline, *args: str) -> dict:
    done = _cli(pipeline, "import", *args, "--json")
    assert done.returncode in (0, 1), done.stderr
    return json.loads(done.stdout) | {"exit": done.returncode}


def test_import_twice_then_a_later_export_then_bad_rows(pipeline, tmp_path):
    worker = pipeline.start_worker()
    worker.wait_ready()

    first = imported(pipeline, "deals", str(DEALS), "--mapping", str(DEALS_MAPPING))
    assert (first["exit"], first["published"], first["rows_with_problems"]) == (0, 17, 0)
    pipeline.wait_caught_up(expected_raw=17)
    rows = live_rows(pipeline, 1)
    assert month_values(rows, "won_deals") == WON_DEALS
    assert month_values(rows, "won_value") == WON_VALUE
    assert month_values(rows, "close_rate") == pytest.approx(CLOSE_RATE, rel=1e-9)
    assert month_values(rows, "deal_velocity_days") == pytest.approx(VELOCITY, rel=1e-9)
    assert month_values(rows, "pipeline_value") == PIPELINE
    march_teams = {
        dim: value
        for (kpi, grain, period, kind, dim), value in rows.items()
        if (kpi, grain, period, kind) == ("won_value", "month", "2026-03-01", "team")
    }
    assert march_teams == TEAM_WON_VALUE_MARCH

    again = imported(pipeline, "deals", str(DEALS), "--mapping", str(DEALS_MAPPING))
    assert again["published"] == 17  # published again: the pipeline drops the known ids
    pipeline.wait_caught_up(expected_raw=17)
    assert live_rows(pipeline, 1) == rows

    later = imported(pipeline, "deals", str(later_export(tmp_path)), "-m", str(DEALS_MAPPING))
    assert later["exit"] == 0
    pipeline.wait_caught_up(expected_raw=17 + LATER_NEW_EVENTS)
    after = live_rows(pipeline, 1)
    for kpi, value in APRIL.items():
        assert month_values(after, kpi)["2026-04-01"] == pytest.approx(value, rel=1e-9), kpi
    for kpi in ("won_deals", "won_value", "close_rate"):  # January to March did not change
        assert {
            p: v for p, v in month_values(after, kpi).items() if p < "2026-04-01"
        } == month_values(rows, kpi)

    bad = tmp_path / "bad.csv"
    header = DEALS.read_text().splitlines()[0]
    bad.write_text(
        "\n".join(
            [
                header,
                "OPP-201,Ana Ruiz,GTX Pro,Acme,Won,05/04/2026,05/20/2026,100,100",
                "OPP-202,Ana Ruiz,GTX Pro,Acme,Won,05/44/2026,05/20/2026,100,100",
                "OPP-203,Ana Ruiz,GTX Pro,Acme,Closed Won,05/04/2026,05/20/2026,100,100",
                ",Ana Ruiz,GTX Pro,Acme,Won,05/04/2026,05/20/2026,100,100",
                "OPP-205,Ana Ruiz,GTX Pro,Acme,Engaging,05/04/2026,,-100,",
                'OPP-206,Ana Ruiz,"GTX Pro,Acme,Engaging,05/04/2026,,100,',
                "OPP-207,Cleo Park,GTX Pro,Dunmore,Engaging,05/06/2026,,300,",
            ]
        )
        + "\n"
    )
    report = imported(pipeline, "deals", str(bad), "--mapping", str(DEALS_MAPPING))
    assert report["exit"] == 1
    assert [(p["line"], p["column"]) for p in report["problems"]] == [
        (3, "engage_date"),
        (4, "deal_stage"),
        (5, "opportunity_id"),
        (6, "expected_value"),
        (7, "-"),
    ]
    assert (report["imported_rows"], report["published"]) == (2, 3)
    pipeline.wait_caught_up(expected_raw=17 + LATER_NEW_EVENTS + 3)
    final = live_rows(pipeline, 1)
    assert month_values(final, "won_value")["2026-05-01"] == 100
    assert month_values(final, "pipeline_value")["2026-05-01"] == 700 + 300
