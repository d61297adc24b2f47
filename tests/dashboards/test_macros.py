"""dashboards.macros expands like Grafana and the ClickHouse data source (pkg/macros, v4).

The expected strings are the plugin's documented expansions for the same time range
(2014-11-12T11:45:26.371Z .. 2015-11-12T11:45:26.371Z, interval 20 s).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kpiflow.dashboards.macros import (
    MacroError,
    QueryContext,
    expand,
    expand_macros,
    interpolate_variables,
)

CTX = QueryContext(
    time_from=datetime(2014, 11, 12, 11, 45, 26, 371000, tzinfo=UTC),
    time_to=datetime(2015, 11, 12, 11, 45, 26, 371000, tzinfo=UTC),
    interval=timedelta(seconds=20),
)


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("$__fromTime", "toDateTime(1415792726)"),
        ("$__toTime", "toDateTime(1447328726)"),
        ("$__fromTime_ms", "fromUnixTimestamp64Milli(1415792726371)"),
        ("$__toTime_ms", "fromUnixTimestamp64Milli(1447328726371)"),
        (
            "$__dateFilter(dateCol)",
            "dateCol >= toDate('2014-11-12') AND dateCol <= toDate('2015-11-12')",
        ),
        (
            "$__dateTimeFilter(dateCol, timeCol)",
            "(dateCol >= toDate('2014-11-12') AND dateCol <= toDate('2015-11-12')) AND "
            "(timeCol >= toDateTime(1415792726) AND timeCol <= toDateTime(1447328726))",
        ),
        (
            "$__dt(d, t)",
            "(d >= toDate('2014-11-12') AND d <= toDate('2015-11-12')) AND "
            "(t >= toDateTime(1415792726) AND t <= toDateTime(1447328726))",
        ),
        ("$__timeInterval(col)", "toStartOfInterval(toDateTime(col), INTERVAL 20 second)"),
        (
            "$__timeInterval_ms(col)",
            "toStartOfInterval(toDateTime64(col, 3), INTERVAL 20000 millisecond)",
        ),
        ("INTERVAL $__interval_s second", "INTERVAL 20 second"),
        (
            "select * from foo where $__timeFilter(ts )",
            "select * from foo where ts >= toDateTime(1415792726) AND ts <= toDateTime(1447328726)",
        ),
        (
            "select * from foo where ( date >= $__fromTime and date <= $__toTime ) limit 100",
            "select * from foo where ( date >= toDateTime(1415792726) "
            "and date <= toDateTime(1447328726) ) limit 100",
        ),
        (
            "where $__timeFilter_ms(ts)",
            "where ts >= fromUnixTimestamp64Milli(1415792726371) "
            "AND ts <= fromUnixTimestamp64Milli(1447328726371)",
        ),
    ],
)
def test_data_source_macros(sql, expected):
    assert expand_macros(sql, CTX) == expected


def test_interval_is_at_least_one_second():
    ctx = QueryContext(CTX.time_from, CTX.time_to, interval=timedelta(milliseconds=200))
    assert expand_macros("$__interval_s", ctx) == "1"
    assert (
        expand_macros("$__timeInterval_ms(c)", ctx)
        == "toStartOfInterval(toDateTime64(c, 3), INTERVAL 200 millisecond)"
    )


def test_unknown_macros_and_bad_arguments_are_refused():
    with pytest.raises(MacroError, match="not a macro"):
        expand_macros("$__timeFiltr(x)", CTX)
    with pytest.raises(MacroError, match="expected 1 argument"):
        expand_macros("$__timeFilter(a, b)", CTX)
    with pytest.raises(MacroError, match="nested parentheses"):
        expand_macros("$__timeFilter(toDate(x))", CTX)


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("IN (${team:singlequote})", "IN ('a','b')"),
        ("IN (${team:sqlstring})", "IN ('a','b')"),
        ("'${grain:raw}'", "'week'"),
        ("${team:csv}", "a,b"),
        ("[[team:csv]]", "a,b"),
        ("${quote:singlequote}", "'o\\'hara'"),
        ("${quote:sqlstring}", "'o''hara'"),
        ("$__timeFilter(x) and $__interval_s", "$__timeFilter(x) and $__interval_s"),
    ],
)
def test_template_variables(sql, expected):
    values = {"team": ["a", "b"], "grain": "week", "quote": "o'hara"}
    assert interpolate_variables(sql, values) == expected


def test_variables_need_an_explicit_format_and_a_value():
    with pytest.raises(MacroError, match="without a format"):
        interpolate_variables("${team}", {"team": ["a"]})
    with pytest.raises(MacroError, match="without a format"):
        interpolate_variables("$team", {"team": ["a"]})
    with pytest.raises(MacroError, match="no test value"):
        interpolate_variables("${rep:singlequote}", {})


def test_variables_first_then_macros():
    ctx = QueryContext(CTX.time_from, CTX.time_to, CTX.interval, {"team": ["n"]})
    assert (
        expand("WHERE team_id IN (${team:singlequote}) AND $__timeFilter(t)", ctx)
        == "WHERE team_id IN ('n') AND t >= toDateTime(1415792726) AND t <= toDateTime(1447328726)"
    )


def test_naive_time_range_is_refused():
    with pytest.raises(MacroError):
        QueryContext(datetime(2020, 1, 1), datetime(2020, 1, 2))  # noqa: DTZ001 (on purpose)
