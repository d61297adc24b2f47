"""Local dates and period ids of the engine's calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from kpiflow.projections.engine.periods import (
    PeriodCalendar,
    next_period,
    period_starts,
    periods_between,
    previous_month,
)


def test_period_starts() -> None:
    # Friday 2027-01-01 is in ISO week 53 of 2026, which starts on Monday 2026-12-28
    assert period_starts(date(2027, 1, 1)) == (
        date(2027, 1, 1),
        date(2026, 12, 28),
        date(2027, 1, 1),
        date(2027, 1, 1),
    )
    assert period_starts(date(2026, 10, 25)) == (
        date(2026, 10, 25),
        date(2026, 10, 19),
        date(2026, 10, 1),
        date(2026, 10, 1),
    )
    assert period_starts(date(2026, 9, 30))[3] == date(2026, 7, 1)
    assert period_starts(date(2026, 12, 31))[3] == date(2026, 10, 1)


def test_period_steps() -> None:
    assert next_period("quarter", date(2026, 10, 1)) == date(2027, 1, 1)
    assert next_period("month", date(2026, 12, 1)) == date(2027, 1, 1)
    assert next_period("week", date(2026, 12, 28)) == date(2027, 1, 4)
    assert previous_month(date(2026, 1, 1)) == date(2025, 12, 1)
    assert previous_month(date(2026, 3, 1), 12) == date(2025, 3, 1)
    assert periods_between("quarter", date(2026, 2, 10), date(2026, 7, 1)) == [
        (date(2026, 1, 1), date(2026, 3, 31)),
        (date(2026, 4, 1), date(2026, 6, 30)),
        (date(2026, 7, 1), date(2026, 9, 30)),
    ]
    assert periods_between("week", date(2026, 12, 31), date(2027, 1, 4)) == [
        (date(2026, 12, 28), date(2027, 1, 3)),
        (date(2027, 1, 4), date(2027, 1, 10)),
    ]


def test_local_midnight_and_dst_in_amsterdam() -> None:
    calendar = PeriodCalendar(ZoneInfo("Europe/Amsterdam"))
    utc = UTC
    last_moment = datetime(2026, 10, 25, 22, 59, 59, 999999, tzinfo=utc)
    assert calendar.local_date(last_moment) == date(2026, 10, 25)
    assert calendar.local_date(datetime(2026, 10, 25, 23, 0, tzinfo=utc)) == date(2026, 10, 26)
    assert calendar.local_date(datetime(2026, 10, 24, 21, 59, 59, tzinfo=utc)) == date(2026, 10, 24)
    assert calendar.local_date(datetime(2026, 10, 24, 22, 0, tzinfo=utc)) == date(2026, 10, 25)
    plus_one = timezone(timedelta(hours=1))
    assert calendar.local_date(datetime(2026, 10, 26, 0, 0, tzinfo=plus_one)) == date(2026, 10, 26)


ZONES = [
    "Europe/Amsterdam",
    "UTC",
    "Asia/Kolkata",  # +05:30: local midnight in the middle of a UTC hour
    "Australia/Lord_Howe",  # a 30-minute DST shift
    "America/St_Johns",  # -03:30 / -02:30
    "Pacific/Apia",  # skipped a whole day in 2011
]


@settings(max_examples=300, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    instants=st.lists(
        st.datetimes(
            min_value=datetime(2010, 1, 1),  # noqa: DTZ001 (bounds; the values get a zone below)
            max_value=datetime(2030, 12, 31),  # noqa: DTZ001
            timezones=st.sampled_from([UTC, timezone(timedelta(hours=-7, minutes=-30))]),
        ),
        min_size=1,
        max_size=30,
    ),
)
def test_cached_local_date_is_the_exact_one(zone: str, instants: list[datetime]) -> None:
    tz = ZoneInfo(zone)
    calendar = PeriodCalendar(tz)
    for instant in instants * 2:  # the second pass reads the per-hour cache
        assert calendar.local_date(instant) == instant.astimezone(tz).date()


def test_cached_local_date_over_a_whole_year_every_quarter_hour() -> None:
    step = timedelta(minutes=15)
    for zone in ZONES:
        tz = ZoneInfo(zone)
        calendar = PeriodCalendar(tz)
        instant = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=7)
        end = datetime(2027, 1, 1, tzinfo=UTC)
        while instant < end:
            assert calendar.local_date(instant) == instant.astimezone(tz).date(), (zone, instant)
            instant += step


def _table_date(starts: list[int], offsets: list[int], us: int) -> date:
    """The local date `offset_changes` implies (what the bulk build's SQL computes)."""
    offset = offsets[sum(1 for s in starts if s <= us)]
    return date(1970, 1, 1) + timedelta(days=(us + offset) // 86_400_000_000)


@settings(max_examples=200, deadline=None)
@given(
    zone=st.sampled_from([*ZONES, "Asia/Kathmandu", "Asia/Tehran", "Africa/Casablanca"]),
    first=st.integers(946_684_800_000_000, 1_924_991_999_000_000),  # 2000 .. 2030
    span=st.integers(0, 3 * 365 * 86_400_000_000),
    picks=st.lists(st.floats(0, 1), min_size=1, max_size=40),
)
def test_offset_changes_give_the_local_date_of_every_instant(zone, first, span, picks) -> None:
    tz = ZoneInfo(zone)
    calendar = PeriodCalendar(tz)
    last = first + span
    starts, offsets = calendar.offset_changes(first, last)
    assert len(offsets) == len(starts) + 1 and starts == sorted(starts)
    for pick in [0.0, 1.0, *picks]:
        us = first + round(span * pick)
        instant = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=us)
        assert _table_date(starts, offsets, us) == instant.astimezone(tz).date(), (zone, instant)


def test_offset_changes_find_each_change_to_the_second() -> None:
    calendar = PeriodCalendar(ZoneInfo("Europe/Amsterdam"))
    first = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp()) * 1_000_000
    last = int(datetime(2026, 12, 31, tzinfo=UTC).timestamp()) * 1_000_000
    starts, offsets = calendar.offset_changes(first, last)
    assert [datetime.fromtimestamp(s / 1e6, UTC) for s in starts] == [
        datetime(2026, 3, 29, 1, 0, tzinfo=UTC),
        datetime(2026, 10, 25, 1, 0, tzinfo=UTC),
    ]
    assert [o // 3_600_000_000 for o in offsets] == [1, 2, 1]
    # 2026-10-25 00:59:59.999999Z is still CEST: 02:59 local on the 25th
    edge = starts[1] - 1
    assert _table_date(starts, offsets, edge) == date(2026, 10, 25)
