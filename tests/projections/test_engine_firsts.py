"""leads_created and deals_opened: a lead or deal counts once ever, at its first event of that
kind by occurred_at, in that event's period, team and rep. Expected numbers by hand."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from tests.projections.kpi_events import Log, cells, engine, merged, run, table

AMS = ZoneInfo("Europe/Amsterdam")


def test_a_lead_counts_once_at_its_first_creation_and_moves_to_a_late_earlier_one() -> None:
    log = Log()
    log.created("L1", "2026-05-12T10:00:00Z", rep="r1", team="tA")  # Tue May 12
    log.created("L1", "2026-05-20T10:00:00Z", rep="r2", team="tB")  # again: counts once ever
    log.created("L2", "2026-05-12T23:30:00Z", rep="r2", team="tB")
    log.created("", "2026-05-12T11:00:00Z")  # no lead_id: nothing to count
    late = log.created("L1", "2026-04-30T09:00:00Z", rep="r2", team="tB")  # Thu Apr 30, late
    kpis = engine()
    kpis.apply(r for r in log.records if r is not late)
    assert table(kpis.rows(), "leads_created", "month") == cells(
        "month", "2026-05-01", all=2, tA=1, r1=1, tB=1, r2=1
    )
    kpis.apply([late])
    kpis.take_changes()
    assert table(kpis.rows(), "leads_created") == merged(
        cells("day", "2026-04-30", all=1, tB=1, r2=1),
        cells("day", "2026-05-12", all=1, tB=1, r2=1),
        cells("week", "2026-04-27", all=1, tB=1, r2=1),
        cells("week", "2026-05-11", all=1, tB=1, r2=1),
        cells("month", "2026-04-01", all=1, tB=1, r2=1),
        cells("month", "2026-05-01", all=1, tB=1, r2=1),
        cells("quarter", "2026-04-01", all=2, tB=2, r2=2),
    )
    assert table(run(log.records), "leads_created") == table(kpis.rows(), "leads_created")


def test_deals_opened_counts_a_deal_once_and_goes_by_the_reporting_zone() -> None:
    log = Log()
    log.opened("D1", "2026-03-31T22:30:00Z", "100", rep="r1", team="tA")  # Apr 1 00:30 CEST
    log.opened("D1", "2026-04-02T08:00:00Z", "900", rep="r2", team="tB")  # re-opened: once ever
    log.opened("D2", "2026-03-31T21:59:00Z", "50", rep="r2", team="tB")  # Mar 31 23:59 CEST
    log.stage("D2", "2026-04-03T08:00:00Z", "won", rep="r2", team="tB")
    rows = run(log.records, AMS)
    assert table(rows, "deals_opened", "quarter") == merged(
        cells("quarter", "2026-01-01", all=1, tB=1, r2=1),
        cells("quarter", "2026-04-01", all=1, tA=1, r1=1),
    )
    assert table(rows, "deals_opened", "day") == merged(
        cells("day", "2026-03-31", all=1, tB=1, r2=1),
        cells("day", "2026-04-01", all=1, tA=1, r1=1),
    )


def test_equal_instants_go_by_arrival() -> None:
    log = Log()
    log.created("L", "2026-04-01T10:00:00Z", rep="r1", team="tA")
    log.created("L", "2026-04-01T10:00:00Z", rep="r2", team="tB")
    for order in (log.records, list(reversed(log.records))):
        assert table(run(order), "leads_created", "day") == cells(
            "day", "2026-04-01", all=1, tA=1, r1=1
        )


def test_a_stage_change_or_an_amount_change_does_not_open_a_deal() -> None:
    log = Log()
    log.stage("D9", "2026-04-03T08:00:00Z", "qualified")
    log.amount("D9", "2026-04-04T08:00:00Z", "10")
    assert table(run(log.records), "deals_opened") == {}
