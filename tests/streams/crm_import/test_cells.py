"""Reading dates, amounts and yes/no cells of an export."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from kpiflow.streams.crm_import.cells import CellError, DateReader, amount, yes_no

NY = ZoneInfo("America/New_York")
AMS = ZoneInfo("Europe/Amsterdam")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("order", "text", "expected"),
    [
        ("iso", "2026-03-04", "2026-03-04T05:00:00"),
        ("iso", "2026-03-04 09:30", "2026-03-04T14:30:00"),
        ("iso", "2026-03-04T09:30:15", "2026-03-04T14:30:15"),
        ("iso", "2026-03-04T09:30:15.25", "2026-03-04T14:30:15.250000"),
        ("day_first", "04/03/2026", "2026-03-04T05:00:00"),
        ("day_first", "4.3.2026 9:05", "2026-03-04T14:05:00"),
        ("month_first", "03/04/2026", "2026-03-04T05:00:00"),
        ("month_first", "3/4/2026 23:59:59", "2026-03-05T04:59:59"),
        ("month_first", "2026-03-04", "2026-03-04T05:00:00"),  # ISO is read in every order
        # after the US DST change (2026-03-08) New York is UTC-4
        ("month_first", "03/20/2026", "2026-03-20T04:00:00"),
    ],
)
def test_dates_without_offset_are_local_time_of_the_mapping_zone(order, text, expected):
    assert DateReader(order, NY).moment(text) == utc(expected)


def test_an_offset_in_the_cell_wins_over_the_zone():
    reader = DateReader("iso", NY)
    assert reader.moment("2026-03-04T09:30:00Z") == utc("2026-03-04T09:30:00")
    assert reader.moment("2026-03-04T09:30:00+01:00") == utc("2026-03-04T08:30:00")
    assert reader.moment("2026-03-04 09:30 -0230") == utc("2026-03-04T12:00:00")


def test_dst_gap_moves_forward_and_an_ambiguous_time_is_the_first():
    reader = DateReader("iso", AMS)
    # 2026-03-29 02:30 does not exist in Amsterdam (clocks go 02:00 -> 03:00)
    assert reader.moment("2026-03-29 02:30") == utc("2026-03-29T01:30:00")
    assert reader.moment("2026-03-29 02:30").astimezone(AMS).hour == 3
    # 2026-10-25 02:30 happens twice: the first is still summer time (UTC+2)
    assert reader.moment("2026-10-25 02:30") == utc("2026-10-25T00:30:00")
    assert reader.moment("2026-10-25 03:30") - reader.moment("2026-10-25 01:30") == timedelta(
        hours=3
    )


@pytest.mark.parametrize(
    ("order", "text", "says"),
    [
        ("iso", "03/04/2026", "set dates.order"),
        ("iso", "next tuesday", "is not a date"),
        ("day_first", "31/02/2026", "not a date on the calendar"),
        ("month_first", "13/01/2026", "not a date on the calendar"),
        ("iso", "2026-03-04 25:00", "no valid time of day"),
        ("iso", "2026-03-04 9am", "is not a date"),
    ],
)
def test_a_bad_date_says_what_the_mapping_expects(order, text, says):
    with pytest.raises(CellError, match=says):
        DateReader(order, NY).moment(text)


def test_amounts_are_exact_decimal_strings():
    assert amount(" 12500 ") == "12500"
    assert amount("12500.50") == "12500.50"
    for bad, says in (
        ("-5", "negative"),
        ("1,200", "not an amount"),
        ("€5", "not an amount"),
        ("1e3", "not an amount"),
    ):
        with pytest.raises(CellError, match=says):
            amount(bad)


def test_yes_no():
    yes, no = ("yes", "y", "x"), ("no", "n")
    assert yes_no("Yes", yes, no) is True
    assert yes_no(" X ", yes, no) is True
    assert yes_no("N", yes, no) is False
    assert yes_no("", yes, no) is None
    with pytest.raises(CellError, match="neither yes"):
        yes_no("maybe", yes, no)
