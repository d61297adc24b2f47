from datetime import date

import pytest

from kpiflow.projections.plans.calendar import (
    Quarter,
    elapsed_working_days,
    review_dates,
    working_days,
)


def test_quarter_parse_and_bounds():
    q = Quarter.parse("2026-Q4")
    assert (q.start, q.end, str(q)) == (date(2026, 10, 1), date(2026, 12, 31), "2026-Q4")
    assert Quarter.parse("2027-Q1").end == date(2027, 3, 31)
    assert Quarter.parse("2028-Q1").end == date(2028, 3, 31)
    assert Quarter.parse("2026-Q2").end == date(2026, 6, 30)
    assert Quarter.of(date(2026, 11, 23)) == q
    assert date(2026, 12, 31) in q and date(2027, 1, 1) not in q


@pytest.mark.parametrize("text", ["2026-Q5", "2026Q4", "Q4-2026", "2026-q4", ""])
def test_quarter_rejects(text):
    with pytest.raises(ValueError, match="write it like 2026-Q4"):
        Quarter.parse(text)


def test_working_days_of_q4_2026():
    q = Quarter.parse("2026-Q4")
    # October 22, November 21, December 23 weekdays
    assert len(working_days(q, range(5), ())) == 66
    days = working_days(q, range(5), (date(2026, 12, 24), date(2026, 12, 25), date(2026, 12, 26)))
    assert len(days) == 64  # the 26th is a Saturday: no working day to lose
    assert days[0] == date(2026, 10, 1) and days[-1] == date(2026, 12, 31)


def test_elapsed_counts_completed_days_only():
    days = working_days(Quarter.parse("2026-Q4"), range(5), ())
    assert elapsed_working_days(days, date(2026, 10, 1)) == 0  # the first day is not done yet
    assert elapsed_working_days(days, date(2026, 10, 2)) == 1
    assert elapsed_working_days(days, date(2026, 10, 5)) == 2  # Monday: Thu + Fri done
    assert elapsed_working_days(days, date(2026, 11, 23)) == 37
    assert elapsed_working_days(days, date(2027, 1, 1)) == 66


def test_review_dates():
    q = Quarter.parse("2026-Q4")
    weekly = review_dates(q, "weekly", "fri")
    assert weekly[0] == date(2026, 10, 2) and weekly[-1] == date(2026, 12, 25) and len(weekly) == 13
    biweekly = review_dates(q, "biweekly", "monday")
    assert biweekly[:2] == (date(2026, 10, 5), date(2026, 10, 19))
    assert review_dates(q, "monthly", "tue") == (
        date(2026, 10, 6),
        date(2026, 11, 3),
        date(2026, 12, 1),
    )
    assert review_dates(q, "monthly", 15) == (
        date(2026, 10, 15),
        date(2026, 11, 15),
        date(2026, 12, 15),
    )
