"""No panel ranks or compares reps on an insight KPI (docs/kpis.md): refused in code, and no
generated panel's SQL reads an insight KPI at rep level."""

from __future__ import annotations

import re

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


# -- coaching: per-rep insight, one rep at a time, in its own folder -------------------------


def _coaching_board() -> Board:
    from kpiflow.dashboards.coaching_board import coaching_dashboard

    return coaching_dashboard(Options())


def test_the_coaching_board_shows_one_rep_at_a_time():
    board = _coaching_board()
    assert board.folder == "kpiflow-coaching"
    (rep,) = [v for v in board.json["templating"]["list"] if v["name"] == "rep"]
    assert rep["multi"] is False and rep["includeAll"] is False
    for query in board.queries:
        if "coaching_" in query.sql:
            assert "hex(rep_id) = ${rep:singlequote}" in query.sql, query.where
    check([board])  # the build's own check passes


def test_coaching_values_outside_the_coaching_folder_are_refused():
    board = _coaching_board()
    moved = Board(board.uid, board.title, board.json, board.queries, folder="kpiflow")
    with pytest.raises(InsightRankingError, match="outside the coaching folder"):
        check([moved])


@pytest.mark.parametrize(
    ("sql", "columns", "says"),
    [
        (
            "SELECT stage, count() AS n FROM coaching_stays GROUP BY stage",
            ("stage", "n"),
            "without hex(rep_id)",
        ),
        (
            "SELECT quantileExactInclusive(0.5)(days) AS d FROM coaching_stays "
            "WHERE hex(rep_id) = ${rep:singlequote} OR 1 GROUP BY rep_id",
            ("d",),
            "groups, orders or lists by rep",
        ),
        (
            "SELECT rep_id, count() AS n FROM coaching_closes "
            "WHERE hex(rep_id) = ${rep:singlequote} OR won = 1",
            ("rep_id", "n"),
            "groups, orders or lists by rep",
        ),
    ],
)
def test_a_coaching_panel_that_would_list_or_rank_reps_is_refused(sql, columns, says):
    board = _coaching_board()
    bad = Query(board.uid, "panel 9: bad", sql, columns)
    broken = Board(board.uid, board.title, board.json, (*board.queries, bad), board.folder)
    with pytest.raises(InsightRankingError, match=re.escape(says)):
        check([broken])


def test_a_multi_rep_coaching_variable_is_refused():
    board = _coaching_board()
    doc = {**board.json, "templating": {"list": [
        {**v, "multi": True} if v["name"] == "rep" else v for v in board.json["templating"]["list"]
    ]}}  # fmt: skip
    with pytest.raises(InsightRankingError, match="one rep at a time"):
        check([Board(board.uid, board.title, doc, board.queries, board.folder)])


def test_no_coaching_query_returns_a_rep_id(panel_db):
    from kpiflow.dashboards.macros import expand
    from tests.dashboards.dataset import REPS
    from tests.dashboards.test_panel_sql import context

    board = _coaching_board()
    ctx = context(board, panel_db.facts, None, "UTC")
    for query in board.queries:
        if query.where.startswith("variable "):
            continue  # the picker lists the ids to choose one from
        _columns, rows = panel_db.run(expand(query.sql, ctx))
        cells = {cell for row in rows for cell in row}
        assert not cells & set(REPS), f"{query.where} returns rep ids"
