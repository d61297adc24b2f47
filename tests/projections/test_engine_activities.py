"""Action KPIs (activities, outbound_contacts, activity_points) and the period edges.

Every expected number below is worked out by hand from the events in the test.
Europe/Amsterdam: CEST (+02:00) until 2026-10-25 01:00Z, then CET (+01:00).
"""

from __future__ import annotations

from kpiflow.projections.engine.activities import ACTION_KPIS
from tests.projections.kpi_events import AMSTERDAM, UTC, Log, cells, merged, run, table


def dst_week() -> Log:
    log = Log()
    # a1 Sat 2026-10-24 23:59 CEST
    log.activity("2026-10-24T21:59:00Z", "call", rep="r1", team="tA")
    # a2 Sun 2026-10-25 00:30 CEST
    log.activity("2026-10-24T22:30:00Z", "email", rep="r1", team="tA")
    # a3 Sun 02:30 CEST (first pass of the repeated hour), inbound: not a contact
    log.activity("2026-10-25T00:30:00Z", "call", direction="inbound", rep="r2", team="tB")
    # a4 Sun 02:30 CET (second pass); a meeting is not a contact type
    log.activity("2026-10-25T01:30:00Z", "meeting", rep="r2", team="tB")
    # a5 Sun 23:59:59 CET, the last second of the 25-hour day
    log.activity("2026-10-25T22:59:59+00:00", "demo", rep="r1", team="tA")
    # a6 Mon 2026-10-26 00:00:00 CET exactly: belongs to the Monday, a new ISO week
    log.activity("2026-10-26T00:00:00+01:00", "voicemail", rep="r1", team="tA")
    # a7 Sun 2026-11-01 00:00 CET exactly (written in UTC): November, still ISO week of Oct 26
    log.activity("2026-10-31T23:00:00Z", "linkedin_message", rep="r2", team="tB")
    return log


def test_activities_around_the_dst_change_in_amsterdam() -> None:
    rows = run(dst_week().records, AMSTERDAM)
    assert table(rows, "activities") == merged(
        cells("day", "2026-10-24", all=1, tA=1, r1=1),
        cells("day", "2026-10-25", all=4, tA=2, r1=2, tB=2, r2=2),
        cells("day", "2026-10-26", all=1, tA=1, r1=1),
        cells("day", "2026-11-01", all=1, tB=1, r2=1),
        cells("week", "2026-10-19", all=5, tA=3, r1=3, tB=2, r2=2),
        cells("week", "2026-10-26", all=2, tA=1, r1=1, tB=1, r2=1),
        cells("month", "2026-10-01", all=6, tA=4, r1=4, tB=2, r2=2),
        cells("month", "2026-11-01", all=1, tB=1, r2=1),
        cells("quarter", "2026-10-01", all=7, tA=4, r1=4, tB=3, r2=3),
    )


def test_outbound_contacts_only_where_something_counted() -> None:
    rows = run(dst_week().records, AMSTERDAM)
    # tB/r2 have activities on Oct 25 but no outbound contact: no row at all for them there
    assert table(rows, "outbound_contacts") == merged(
        cells("day", "2026-10-24", all=1, tA=1, r1=1),
        cells("day", "2026-10-25", all=1, tA=1, r1=1),
        cells("day", "2026-10-26", all=1, tA=1, r1=1),
        cells("day", "2026-11-01", all=1, tB=1, r2=1),
        cells("week", "2026-10-19", all=2, tA=2, r1=2),
        cells("week", "2026-10-26", all=2, tA=1, r1=1, tB=1, r2=1),
        cells("month", "2026-10-01", all=3, tA=3, r1=3),
        cells("month", "2026-11-01", all=1, tB=1, r2=1),
        cells("quarter", "2026-10-01", all=4, tA=3, r1=3, tB=1, r2=1),
    )


def test_activity_points() -> None:
    # a1 call 3, a2 email 1, a3 call 3, a4 meeting 8, a5 demo 8, a6 voicemail 1, a7 linkedin 1
    rows = run(dst_week().records, AMSTERDAM)
    assert table(rows, "activity_points") == merged(
        cells("day", "2026-10-24", all=3, tA=3, r1=3),
        cells("day", "2026-10-25", all=20, tA=9, r1=9, tB=11, r2=11),
        cells("day", "2026-10-26", all=1, tA=1, r1=1),
        cells("day", "2026-11-01", all=1, tB=1, r2=1),
        cells("week", "2026-10-19", all=23, tA=12, r1=12, tB=11, r2=11),
        cells("week", "2026-10-26", all=2, tA=1, r1=1, tB=1, r2=1),
        cells("month", "2026-10-01", all=24, tA=13, r1=13, tB=11, r2=11),
        cells("month", "2026-11-01", all=1, tB=1, r2=1),
        cells("quarter", "2026-10-01", all=25, tA=13, r1=13, tB=12, r2=12),
    )
    assert all(type(row.value) is int for row in rows if row.kpi in ACTION_KPIS)


def test_quarter_end_at_local_midnight_depends_on_the_reporting_zone() -> None:
    log = Log()
    log.activity("2026-09-30T21:59:00Z", "call")  # Amsterdam: Wed Sep 30 23:59 CEST
    log.activity("2026-09-30T22:00:00Z", "email")  # Amsterdam: Thu Oct 1 00:00 CEST
    assert table(run(log.records, AMSTERDAM), "activity_points", "quarter") == merged(
        cells("quarter", "2026-07-01", all=3, tA=3, r1=3),
        cells("quarter", "2026-10-01", all=1, tA=1, r1=1),
    )
    assert table(run(log.records, AMSTERDAM), "activities", "month") == merged(
        cells("month", "2026-09-01", all=1, tA=1, r1=1),
        cells("month", "2026-10-01", all=1, tA=1, r1=1),
    )
    assert table(run(log.records, AMSTERDAM), "activities", "week") == cells(
        "week", "2026-09-28", all=2, tA=2, r1=2
    )
    # in UTC both are on Sep 30
    assert table(run(log.records, UTC), "activity_points", "quarter") == cells(
        "quarter", "2026-07-01", all=4, tA=4, r1=4
    )


def test_iso_week_crossing_the_year() -> None:
    log = Log()
    log.activity("2026-12-31T22:59:00Z", "call")  # Thu Dec 31 23:59 CET
    log.activity("2026-12-31T23:00:00Z", "call")  # Fri 2027-01-01 00:00 CET
    log.activity("2027-01-03T22:59:00Z", "email")  # Sun Jan 3 23:59: still the week of Dec 28
    log.activity("2027-01-03T23:00:00Z", "email")  # Mon Jan 4 00:00: ISO week 1 of 2027
    rows = run(log.records, AMSTERDAM)
    assert table(rows, "activities", "week") == merged(
        cells("week", "2026-12-28", all=3, tA=3, r1=3),
        cells("week", "2027-01-04", all=1, tA=1, r1=1),
    )
    assert table(rows, "activity_points", "week") == merged(
        cells("week", "2026-12-28", all=7, tA=7, r1=7),
        cells("week", "2027-01-04", all=1, tA=1, r1=1),
    )
    assert table(rows, "activities", "month") == merged(
        cells("month", "2026-12-01", all=1, tA=1, r1=1),
        cells("month", "2027-01-01", all=3, tA=3, r1=3),
    )
    assert table(rows, "activities", "quarter") == merged(
        cells("quarter", "2026-10-01", all=1, tA=1, r1=1),
        cells("quarter", "2027-01-01", all=3, tA=3, r1=3),
    )
    assert table(rows, "activities", "day") == merged(
        cells("day", "2026-12-31", all=1, tA=1, r1=1),
        cells("day", "2027-01-01", all=1, tA=1, r1=1),
        cells("day", "2027-01-03", all=1, tA=1, r1=1),
        cells("day", "2027-01-04", all=1, tA=1, r1=1),
    )


def test_absent_direction_is_outbound_and_points_follow_the_definition() -> None:
    from kpiflow.projections.definitions import Definition
    from kpiflow.projections.engine import KpiEngine

    log = Log()
    log.activity("2026-05-04T10:00:00Z", "call", direction="")  # absent: outbound
    log.activity("2026-05-04T11:00:00Z", "email", direction="inbound")
    kpis = KpiEngine(Definition(version=2, points={"call": 5, "email": 0}), UTC)
    kpis.apply(log.records)
    rows = kpis.rows()
    assert table(rows, "outbound_contacts", "day") == cells("day", "2026-05-04", all=1, tA=1, r1=1)
    assert table(rows, "activity_points", "day") == cells("day", "2026-05-04", all=5, tA=5, r1=5)


def test_records_from_parsed_events() -> None:
    from kpiflow.events import parse_event
    from kpiflow.projections.records import record_from_event

    raw = (
        '{"event_id":"6f1c2a8e-2b7e-4a52-9d55-1d1f0c3e9a10","event_type":"activity.logged",'
        '"schema_version":1,"occurred_at":"2026-10-25T02:30:00+01:00","source":"dialer",'
        '"rep_id":"rep-007","team_id":"team-north","activity_type":"intake"}'
    )
    rows = run([record_from_event(parse_event(raw), seq=1)], AMSTERDAM)
    assert table(rows, "activity_points", "day") == {
        ("day", "2026-10-25", "all"): 10,
        ("day", "2026-10-25", "team-north"): 10,
        ("day", "2026-10-25", "rep-007"): 10,
    }
    # intake is not a contact type
    assert table(rows, "outbound_contacts") == {}


def test_a_repeated_event_id_never_counts_twice_first_applied_wins() -> None:
    from dataclasses import replace

    from tests.projections.kpi_events import engine

    log = Log()
    call = log.activity("2026-05-04T10:00:00Z", "call")
    demo_with_the_same_id = replace(call, activity_type="demo", occurred_at=call.occurred_at)
    kpis = engine()
    kpis.apply([call])
    kpis.apply([demo_with_the_same_id, call])
    assert kpis.event_count == 1
    assert table(kpis.rows(), "activity_points", "day") == cells(
        "day", "2026-05-04", all=3, tA=3, r1=3
    )
