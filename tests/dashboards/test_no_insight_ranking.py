"""No panel ranks or compares reps on an insight KPI (docs/kpis.md): refused in code, and no
generated panel's SQL reads an insight KPI at rep level."""

from __future__ import annotations

import pytest

from kpiflow.dashboards.build import build_all, check
from kpiflow.dashboards.defaults import Board, Options, Query
from kpiflow.dashboards.guard import (
    INSIGHT_KPIS,
    RANKABLE_KPIS,
    InsightRankingError,
    insight_rankings,
)
from kpiflow.dashboards.panels.kpi_series import kpi_series_sql
from kpiflow.dashboards.panels.leaderboard import Leaderboard, leaderboard_sql
from kpiflow.errors import ConfigError
from kpiflow.projections.catalog import CATALOG


def test_the_catalog_split():
    assert "close_rate" in INSIGHT_KPIS and "stage_days:proposal" in INSIGHT_KPIS
    assert "activity_points" in RANKABLE_KPIS and "won_value" in RANKABLE_KPIS
    assert set(INSIGHT_KPIS) | set(RANKABLE_KPIS) == set(CATALOG)


@pytest.mark.parametrize("kpi", INSIGHT_KPIS)
def test_a_leaderboard_on_an_insight_kpi_is_refused(kpi):
    with pytest.raises(InsightRankingError, match="insight KPI"):
        Leaderboard(kpi, CATALOG[kpi].grains[0])


@pytest.mark.parametrize("kpi", INSIGHT_KPIS)
def test_a_per_rep_series_of_an_insight_kpi_is_refused(kpi):
    with pytest.raises(InsightRankingError):
        kpi_series_sql(kpi, "rep", CATALOG[kpi].grains[0])


def test_the_error_is_a_config_error_that_names_the_alternatives():
    with pytest.raises(ConfigError) as caught:
        Leaderboard.parse("close_rate/quarter")
    assert "activity_points" in str(caught.value)


@pytest.mark.parametrize("kpi", RANKABLE_KPIS)
def test_leaderboards_on_action_and_result_kpis_are_fine(kpi):
    grain = "week" if "week" in CATALOG[kpi].grains else CATALOG[kpi].grains[0]
    assert insight_rankings(leaderboard_sql(Leaderboard(kpi, grain)).clean) == []


def test_the_scan_finds_rep_level_insight_sql():
    assert insight_rankings(
        "SELECT dimension, value FROM kpi_values "
        "WHERE kpi = 'close_rate' AND dimension_kind = 'rep'"
    ) == ["close_rate"]
    assert insight_rankings(
        "SELECT * FROM kpi_values "
        "WHERE kpi LIKE 'stage_days:%' AND dimension IN (${rep:singlequote})"
    ) == ["stage_days:*"]
    assert (
        insight_rankings(
            "SELECT * FROM kpi_values WHERE kpi = 'close_rate' AND dimension_kind = 'team'"
        )
        == []
    )
    assert insight_rankings("SELECT rep_id, count() FROM raw_events GROUP BY rep_id") == []


def test_no_generated_panel_reads_an_insight_kpi_at_rep_level():
    boards = build_all(Options(), ["north", "south"])
    scanned = 0
    for board in boards:
        for query in board.queries:
            scanned += 1
            assert insight_rankings(query.sql) == [], f"{board.uid} {query.where}"
    assert scanned > 50
    # and the insight KPIs the dashboards do show are all at team/organisation level
    insight_sql = [
        q for b in boards for q in b.queries if any(f"'{k}'" in q.sql for k in INSIGHT_KPIS)
    ]
    assert insight_sql and all("'rep'" not in q.sql and "${rep" not in q.sql for q in insight_sql)


def test_the_build_refuses_a_board_that_ranks_reps_on_an_insight_kpi():
    bad = Board(
        uid="kpiflow-bad",
        title="bad",
        json={},
        queries=(
            Query(
                "kpiflow-bad",
                "panel 1: x",
                "SELECT dimension, value FROM kpi_values WHERE kpi = 'close_rate' "
                "AND dimension_kind = 'rep' ORDER BY value DESC",
                ("dimension", "value"),
            ),
        ),
    )
    with pytest.raises(InsightRankingError, match="kpiflow-bad panel 1"):
        check([bad])
