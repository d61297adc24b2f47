"""Deal KPIs: won_deals, won_value, new_business_value, upsells, renewals, core_product_wins,
close_rate, deal_velocity_days, stage_days:<stage>, pipeline_value. Expected numbers by hand.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from tests.projections.kpi_events import AMSTERDAM, Log, cells, engine, merged, run, table


def march_deals() -> Log:
    """Reporting zone UTC. Default definition: core products ["enterprise"]."""
    log = Log()
    a = {"rep": "r1", "team": "tA"}
    # D1: new business, enterprise, customer c1; won 8.125 days after opening
    log.opened(
        "D1", "2026-03-02T09:00:00Z", "1000", "new_business", "enterprise", "prospect", "c1", **a
    )
    log.stage("D1", "2026-03-04T09:00:00Z", "proposal", "prospect", **a)  # prospect stay 2 days
    log.stage("D1", "2026-03-10T12:00:00Z", "won", "proposal", **a)  # proposal stay 6.125 days
    log.amount(
        "D1", "2026-03-10T12:00:00Z", "1500", **a
    )  # same instant, arrives after the won: counts
    # D2: upsell, not a core product; amount change after the win does not count
    b = {"rep": "r2", "team": "tB"}
    log.opened("D2", "2026-03-05T00:00:00Z", "200", "upsell", "basic", "qualified", "c2", **b)
    log.stage("D2", "2026-03-15T00:00:00Z", "won", "qualified", **b)  # qualified stay 10 days
    log.amount("D2", "2026-03-16T00:00:00Z", "999", **b)
    # D3: lost; a later change to won is ignored by every KPI
    c = {"rep": "r3", "team": "tB"}
    log.opened(
        "D3", "2026-03-06T00:00:00Z", "500", "new_business", "enterprise", "prospect", "c3", **c
    )
    log.stage("D3", "2026-03-20T00:00:00Z", "lost", "prospect", **c)  # prospect stay 14 days
    log.stage("D3", "2026-03-25T00:00:00Z", "won", "lost", **c)
    # D4: never saw its deal.opened: counts as won with its known amount, no kind, no velocity
    log.amount("D4", "2026-04-01T00:00:00Z", "300", **a)
    log.stage("D4", "2026-04-02T00:00:00Z", "won", "meeting", **a)  # no stay: entry unknown
    # D5: renewal still open
    log.opened("D5", "2026-03-30T00:00:00Z", "700", "renewal", "enterprise", "proposal", "c1", **a)
    log.stage(
        "D5", "2026-04-01T12:00:00Z", "negotiation", "proposal", **a
    )  # proposal stay 2.5 days
    # D6: renewal won 1.25 days after opening
    log.opened(
        "D6", "2026-04-05T00:00:00Z", "400", "renewal", "enterprise", "negotiation", "c2", **b
    )
    log.stage("D6", "2026-04-06T06:00:00Z", "won", "negotiation", **b)  # negotiation stay 1.25
    return log


@pytest.fixture(scope="module")
def rows():
    return run(march_deals().records)


def test_won_deals(rows) -> None:
    assert table(rows, "won_deals") == merged(
        cells("day", "2026-03-10", all=1, tA=1, r1=1),
        cells("day", "2026-03-15", all=1, tB=1, r2=1),
        cells("day", "2026-04-02", all=1, tA=1, r1=1),
        cells("day", "2026-04-06", all=1, tB=1, r2=1),
        cells("week", "2026-03-09", all=2, tA=1, r1=1, tB=1, r2=1),
        cells("week", "2026-03-30", all=1, tA=1, r1=1),
        cells("week", "2026-04-06", all=1, tB=1, r2=1),
        cells("month", "2026-03-01", all=2, tA=1, r1=1, tB=1, r2=1),
        cells("month", "2026-04-01", all=2, tA=1, r1=1, tB=1, r2=1),
        cells("quarter", "2026-01-01", all=2, tA=1, r1=1, tB=1, r2=1),
        cells("quarter", "2026-04-01", all=2, tA=1, r1=1, tB=1, r2=1),
    )


def test_won_value_takes_the_amount_at_the_won_instant(rows) -> None:
    # D1 1500 (change at exactly the won instant), D2 200, D4 300 (no opened), D6 400
    assert table(rows, "won_value") == merged(
        cells("day", "2026-03-10", all=1500, tA=1500, r1=1500),
        cells("day", "2026-03-15", all=200, tB=200, r2=200),
        cells("day", "2026-04-02", all=300, tA=300, r1=300),
        cells("day", "2026-04-06", all=400, tB=400, r2=400),
        cells("week", "2026-03-09", all=1700, tA=1500, r1=1500, tB=200, r2=200),
        cells("week", "2026-03-30", all=300, tA=300, r1=300),
        cells("week", "2026-04-06", all=400, tB=400, r2=400),
        cells("month", "2026-03-01", all=1700, tA=1500, r1=1500, tB=200, r2=200),
        cells("month", "2026-04-01", all=700, tA=300, r1=300, tB=400, r2=400),
        cells("quarter", "2026-01-01", all=1700, tA=1500, r1=1500, tB=200, r2=200),
        cells("quarter", "2026-04-01", all=700, tA=300, r1=300, tB=400, r2=400),
    )
    assert {type(row.value).__name__ for row in rows if row.kpi == "won_value"} == {"Decimal"}


def test_new_business_value_upsells_renewals_core_product_wins(rows) -> None:
    def four(day: str, week: str, month: str, quarter: str, **values):
        periods = {"day": day, "week": week, "month": month, "quarter": quarter}
        return merged(*(cells(grain, period, **values) for grain, period in periods.items()))

    assert table(rows, "new_business_value") == four(
        "2026-03-10", "2026-03-09", "2026-03-01", "2026-01-01", all=1500, tA=1500, r1=1500
    )
    assert table(rows, "upsells") == four(
        "2026-03-15", "2026-03-09", "2026-03-01", "2026-01-01", all=1, tB=1, r2=1
    )
    assert table(rows, "renewals") == four(
        "2026-04-06", "2026-04-06", "2026-04-01", "2026-04-01", all=1, tB=1, r2=1
    )
    # D1 and D6 are enterprise; D3 (enterprise) was lost; D4's product is unknown
    assert table(rows, "core_product_wins") == merged(
        four("2026-03-10", "2026-03-09", "2026-03-01", "2026-01-01", all=1, tA=1, r1=1),
        four("2026-04-06", "2026-04-06", "2026-04-01", "2026-04-01", all=1, tB=1, r2=1),
    )


def test_close_rate(rows) -> None:
    # closed: D1 won 03-10 tA, D2 won 03-15 tB, D3 lost 03-20 tB, D4 won 04-02 tA, D6 won 04-06 tB
    assert table(rows, "close_rate") == merged(
        cells("day", "2026-03-10", all=1.0, tA=1.0),
        cells("day", "2026-03-15", all=1.0, tB=1.0),
        cells("day", "2026-03-20", all=0.0, tB=0.0),  # all lost: 0, not empty
        cells("day", "2026-04-02", all=1.0, tA=1.0),
        cells("day", "2026-04-06", all=1.0, tB=1.0),
        cells("week", "2026-03-09", all=1.0, tA=1.0, tB=1.0),
        cells("week", "2026-03-16", all=0.0, tB=0.0),
        cells("week", "2026-03-30", all=1.0, tA=1.0),
        cells("week", "2026-04-06", all=1.0, tB=1.0),
        cells("month", "2026-03-01", all=2 / 3, tA=1.0, tB=0.5),
        cells("month", "2026-04-01", all=1.0, tA=1.0, tB=1.0),
        cells("quarter", "2026-01-01", all=2 / 3, tA=1.0, tB=0.5),
        cells("quarter", "2026-04-01", all=1.0, tA=1.0, tB=1.0),
    )
    assert not any(row.dimension_kind == "rep" for row in rows if row.kpi == "close_rate")


def test_deal_velocity_days(rows) -> None:
    # D1 8.125 (03-10 tA), D2 10 (03-15 tB), D6 1.25 (04-06 tB); D4 has no known opening
    assert table(rows, "deal_velocity_days") == merged(
        cells("day", "2026-03-10", all=8.125, tA=8.125),
        cells("day", "2026-03-15", all=10.0, tB=10.0),
        cells("day", "2026-04-06", all=1.25, tB=1.25),
        cells("week", "2026-03-09", all=9.0625, tA=8.125, tB=10.0),  # mean of the middle two
        cells("week", "2026-04-06", all=1.25, tB=1.25),
        cells("month", "2026-03-01", all=9.0625, tA=8.125, tB=10.0),
        cells("month", "2026-04-01", all=1.25, tB=1.25),
        cells("quarter", "2026-01-01", all=9.0625, tA=8.125, tB=10.0),
        cells("quarter", "2026-04-01", all=1.25, tB=1.25),
    )


def test_stage_days(rows) -> None:
    assert table(rows, "stage_days:prospect") == merged(
        cells("day", "2026-03-04", all=2.0, tA=2.0),  # D1, ended by tA's change
        cells("day", "2026-03-20", all=14.0, tB=14.0),  # D3, ended by the lost
        cells("week", "2026-03-02", all=2.0, tA=2.0),
        cells("week", "2026-03-16", all=14.0, tB=14.0),
        cells("month", "2026-03-01", all=8.0, tA=2.0, tB=14.0),
        cells("quarter", "2026-01-01", all=8.0, tA=2.0, tB=14.0),
    )
    assert table(rows, "stage_days:proposal") == merged(
        cells("day", "2026-03-10", all=6.125, tA=6.125),
        cells("day", "2026-04-01", all=2.5, tA=2.5),
        cells("week", "2026-03-09", all=6.125, tA=6.125),
        cells("week", "2026-03-30", all=2.5, tA=2.5),
        cells("month", "2026-03-01", all=6.125, tA=6.125),
        cells("month", "2026-04-01", all=2.5, tA=2.5),
        cells("quarter", "2026-01-01", all=6.125, tA=6.125),
        cells("quarter", "2026-04-01", all=2.5, tA=2.5),
    )
    assert table(rows, "stage_days:qualified") == merged(
        cells("day", "2026-03-15", all=10.0, tB=10.0),
        cells("week", "2026-03-09", all=10.0, tB=10.0),
        cells("month", "2026-03-01", all=10.0, tB=10.0),
        cells("quarter", "2026-01-01", all=10.0, tB=10.0),
    )
    assert table(rows, "stage_days:negotiation") == merged(
        cells("day", "2026-04-06", all=1.25, tB=1.25),
        cells("week", "2026-04-06", all=1.25, tB=1.25),
        cells("month", "2026-04-01", all=1.25, tB=1.25),
        cells("quarter", "2026-04-01", all=1.25, tB=1.25),
    )
    # D4 entered `won` from an unknown entry; D5's negotiation stay is still open
    assert table(rows, "stage_days:meeting") == {}


def test_pipeline_value_of_the_march_deals(rows) -> None:
    assert table(rows, "pipeline_value", "week") == merged(
        # end Sun 03-08: D1 1000 (r1), D2 200 (r2), D3 500 (r3) open
        cells("week", "2026-03-02", all=1700, tA=1000, r1=1000, tB=700, r2=200, r3=500),
        cells("week", "2026-03-09", all=500, tB=500, r3=500),  # D1, D2 won
        cells("week", "2026-03-16", all=0),  # D3 lost: nothing open, only the `all` row
        cells("week", "2026-03-23", all=0),
        cells("week", "2026-03-30", all=1100, tA=700, r1=700, tB=400, r2=400),  # D5, D6
        cells("week", "2026-04-06", all=700, tA=700, r1=700),  # the last period: D6 won
    )
    assert table(rows, "pipeline_value", "month") == merged(
        cells("month", "2026-03-01", all=700, tA=700, r1=700),
        cells("month", "2026-04-01", all=700, tA=700, r1=700),
    )
    assert table(rows, "pipeline_value", "quarter") == merged(
        cells("quarter", "2026-01-01", all=700, tA=700, r1=700),
        cells("quarter", "2026-04-01", all=700, tA=700, r1=700),
    )
    days = table(rows, "pipeline_value", "day")
    all_days = sorted(p for (_, p, dim) in days if dim == "all")
    assert (all_days[0], all_days[-1], len(all_days)) == ("2026-03-02", "2026-04-06", 36)
    assert {
        key: value for key, value in days.items() if key[1] in ("2026-03-05", "2026-03-10")
    } == merged(
        cells("day", "2026-03-05", all=1200, tA=1000, r1=1000, tB=200, r2=200),
        cells("day", "2026-03-10", all=700, tB=700, r2=200, r3=500),
    )


def test_terminal_at_is_the_first_terminal_change() -> None:
    kpis = engine()
    kpis.apply(march_deals().records)
    assert kpis.terminal_at("D3") == datetime(2026, 3, 20, tzinfo=UTC)
    assert kpis.terminal_at("D1") == datetime(2026, 3, 10, 12, tzinfo=UTC)
    assert kpis.terminal_at("D5") is None
    assert kpis.terminal_at("nope") is None


def test_a_late_terminal_change_withdraws_a_later_won() -> None:
    log = Log()
    log.opened(
        "D3", "2026-03-06T00:00:00Z", "500", "new_business", "enterprise", rep="r3", team="tB"
    )
    lost = log.stage("D3", "2026-03-20T00:00:00Z", "lost", rep="r3", team="tB")
    log.stage("D3", "2026-03-25T00:00:00Z", "won", "proposal", rep="r3", team="tB")
    kpis = engine()
    kpis.apply([r for r in log.records if r is not lost])
    kpis.take_changes()
    assert table(kpis.rows(), "won_deals", "month") == cells(
        "month", "2026-03-01", all=1, tB=1, r3=1
    )
    assert kpis.terminal_at("D3") == datetime(2026, 3, 25, tzinfo=UTC)

    kpis.apply([lost])
    upserts, deletes = kpis.take_changes()
    rows = kpis.rows()
    assert table(rows, "won_deals") == {}
    assert table(rows, "won_value") == {}
    assert table(rows, "close_rate", "month") == cells("month", "2026-03-01", all=0.0, tB=0.0)
    assert ("won_deals", "day", date(2026, 3, 25), "rep", "r3") in deletes
    assert ("deal_velocity_days", "month", date(2026, 3, 1), "all", "all") in deletes
    assert kpis.terminal_at("D3") == datetime(2026, 3, 20, tzinfo=UTC)
    # the prospect stay now ends at the lost, not at the ignored change
    assert table(rows, "stage_days:prospect", "month") == cells(
        "month", "2026-03-01", all=14.0, tB=14.0
    )
    assert any(row.kpi == "close_rate" for row in upserts)


def test_amount_ties_at_the_won_instant_go_by_arrival() -> None:
    log = Log()
    log.opened("D", "2026-05-04T08:00:00Z", "100")
    log.amount("D", "2026-05-04T09:00:00Z", "300")
    log.amount("D", "2026-05-04T09:00:00Z", "200")  # same instant, later arrival: the latest
    won = log.stage("D", "2026-05-04T09:00:00Z", "won")
    log.amount("D", "2026-05-04T09:00:00.000001Z", "999")  # a microsecond too late
    # arrival order of application does not matter, seq does
    assert table(run(list(reversed(log.records))), "won_value", "day") == cells(
        "day", "2026-05-04", all=200, tA=200, r1=200
    )
    assert won.seq == 4


def test_a_won_deal_without_any_amount_counts_with_zero() -> None:
    log = Log()
    log.stage("D", "2026-05-04T09:00:00Z", "won", "negotiation")
    rows = run(log.records)
    assert table(rows, "won_deals", "day") == cells("day", "2026-05-04", all=1, tA=1, r1=1)
    assert table(rows, "won_value", "day") == cells("day", "2026-05-04", all=0, tA=0, r1=0)
    assert table(rows, "deal_velocity_days") == {}
    assert table(rows, "new_business_value") == {}


def pipeline_log() -> Log:
    """Europe/Amsterdam, after the DST change (CET, +01:00)."""
    log = Log()
    log.activity("2026-10-29T10:00:00Z", rep="r1", team="tA")  # the first event: Thu Oct 29
    log.opened("P1", "2026-10-30T10:00:00Z", "100", rep="r1", team="tA")
    # Sat Oct 31 23:30 local: the owner becomes r2/tB before October ends
    log.stage("P1", "2026-10-31T22:30:00Z", "meeting", rep="r2", team="tB")
    # Sun Nov 1 00:00 local exactly: November's, not October's
    log.amount("P1", "2026-10-31T23:00:00Z", "250", rep="r2", team="tB")
    log.opened("P2", "2026-11-02T08:00:00Z", "50", rep="r1", team="tA")
    log.stage("P2", "2026-11-03T08:00:00Z", "lost", rep="r1", team="tA")
    log.activity("2026-11-05T10:00:00Z", rep="r3", team="tA")  # the last event: Thu Nov 5
    return log


def test_pipeline_at_period_ends_with_owner_change_and_amount_at_midnight() -> None:
    rows = run(pipeline_log().records, AMSTERDAM)
    assert table(rows, "pipeline_value", "day") == merged(
        cells("day", "2026-10-29", all=0),
        cells("day", "2026-10-30", all=100, tA=100, r1=100),
        cells("day", "2026-10-31", all=100, tB=100, r2=100),
        cells("day", "2026-11-01", all=250, tB=250, r2=250),
        cells("day", "2026-11-02", all=300, tB=250, r2=250, tA=50, r1=50),
        cells("day", "2026-11-03", all=250, tB=250, r2=250),
        cells("day", "2026-11-04", all=250, tB=250, r2=250),
        cells("day", "2026-11-05", all=250, tB=250, r2=250),
    )
    assert table(rows, "pipeline_value", "week") == merged(
        cells("week", "2026-10-26", all=250, tB=250, r2=250),  # ends Sun Nov 1
        cells("week", "2026-11-02", all=250, tB=250, r2=250),
    )
    assert table(rows, "pipeline_value", "month") == merged(
        cells("month", "2026-10-01", all=100, tB=100, r2=100),
        cells("month", "2026-11-01", all=250, tB=250, r2=250),
    )
    assert table(rows, "pipeline_value", "quarter") == cells(
        "quarter", "2026-10-01", all=250, tB=250, r2=250
    )


def test_pipeline_late_amount_change_moves_only_later_periods() -> None:
    log = pipeline_log()
    late = log.records[3]
    kpis = engine(AMSTERDAM)
    kpis.apply([r for r in log.records if r is not late])
    before = table(kpis.rows(), "pipeline_value", "month")
    assert before == merged(
        cells("month", "2026-10-01", all=100, tB=100, r2=100),
        cells("month", "2026-11-01", all=100, tB=100, r2=100),
    )
    kpis.take_changes()
    kpis.apply([late])
    upserts, deletes = kpis.take_changes()
    changed = {(r.kpi, r.grain, r.period_start.isoformat(), r.dimension): r.value for r in upserts}
    assert deletes == []
    assert changed == {
        ("pipeline_value", grain, period, dim): value
        for grain, period, values in (
            ("day", "2026-11-01", {"all": 250, "tB": 250, "r2": 250}),
            ("day", "2026-11-02", {"all": 300, "tB": 250, "r2": 250}),
            ("day", "2026-11-03", {"all": 250, "tB": 250, "r2": 250}),
            ("day", "2026-11-04", {"all": 250, "tB": 250, "r2": 250}),
            ("day", "2026-11-05", {"all": 250, "tB": 250, "r2": 250}),
            ("week", "2026-10-26", {"all": 250, "tB": 250, "r2": 250}),
            ("week", "2026-11-02", {"all": 250, "tB": 250, "r2": 250}),
            ("month", "2026-11-01", {"all": 250, "tB": 250, "r2": 250}),
            ("quarter", "2026-10-01", {"all": 250, "tB": 250, "r2": 250}),
        )
        for dim, value in values.items()
    }


def test_stays_use_exact_instants_across_the_dst_change() -> None:
    log = Log()
    # M: Sat Oct 24 22:00 CEST -> Sun Oct 25 21:00 CET: 23 hours on the wall clock, 1.0 day
    log.opened("M", "2026-10-24T20:00:00Z", "10", stage="meeting", rep="r1", team="tA")
    # the from_stage disagrees with the known stage (meeting): not an error, the known stage wins
    log.stage("M", "2026-10-25T20:00:00Z", "proposal", "negotiation", rep="r1", team="tA")
    # N: 12 hours in meeting, ended at exactly local midnight: Monday Oct 26, a new ISO week
    log.opened("N", "2026-10-25T11:00:00Z", "10", stage="meeting", rep="r2", team="tB")
    log.stage("N", "2026-10-25T23:00:00Z", "won", "meeting", rep="r2", team="tB")
    rows = run(log.records, AMSTERDAM)
    assert table(rows, "stage_days:meeting") == merged(
        cells("day", "2026-10-25", all=1.0, tA=1.0),
        cells("day", "2026-10-26", all=0.5, tB=0.5),
        cells("week", "2026-10-19", all=1.0, tA=1.0),
        cells("week", "2026-10-26", all=0.5, tB=0.5),
        cells("month", "2026-10-01", all=0.75, tA=1.0, tB=0.5),
        cells("quarter", "2026-10-01", all=0.75, tA=1.0, tB=0.5),
    )
    assert table(rows, "stage_days:negotiation") == {}
    assert table(rows, "deal_velocity_days", "day") == cells("day", "2026-10-26", all=0.5, tB=0.5)


def test_every_catalog_kpi_is_produced() -> None:
    from kpiflow.projections.catalog import CATALOG
    from tests.projections.test_engine_activities import dst_week
    from tests.projections.test_engine_leads_customers import growth_log, retention_log

    records = []
    for n, log in enumerate((dst_week(), march_deals(), growth_log(), retention_log())):
        for record in log.records:  # keep event ids apart between the logs
            records.append(replace(record, event_id=f"{n}-{record.event_id}"))
    leads = Log(start=10_000)
    leads.assessed("L", "2026-03-03T10:00:00Z", {"budget": True, "authority": True, "need": True})
    leads.created("L", "2026-03-02T10:00:00Z")
    meeting = Log(start=20_000)
    meeting.opened("M", "2026-03-03T10:00:00Z", "1", stage="meeting")
    meeting.stage("M", "2026-03-04T10:00:00Z", "proposal", "meeting")
    rows = run(records + leads.records + meeting.records)
    assert {row.kpi for row in rows} == set(CATALOG)


def test_amounts_in_another_currency_are_converted_at_their_own_date():
    """USD 0.9 until 2026-05-31, 0.8 from 2026-06-01: a deal opened in May at 1000 USD and won
    in June is worth 900 EUR (the amount's own date decides); one whose amount changed in June to
    2000 USD before its win, 1600."""
    from decimal import Decimal

    from kpiflow.events.rates import parse_rates
    from kpiflow.projections.definitions import DEFAULT_DEFINITION
    from kpiflow.projections.engine import KpiEngine
    from tests.projections.kpi_events import UTC as ZONE

    table_ = parse_rates(
        "currency,valid_from,rate\nUSD,2026-01-01,0.9\nUSD,2026-06-01,0.8\n", "EUR", "UTC"
    )
    definition = DEFAULT_DEFINITION.model_copy(update={"exchange_rates": table_.as_json()})
    log = Log()
    for deal, changed in (("d1", None), ("d2", "2026-06-02T09:00:00+00:00")):
        log.add("deal.opened", "2026-05-20T09:00:00+00:00", deal_id=deal, customer_id="c",
                deal_kind="new_business", amount=Decimal("1000"), currency="USD",
                stage="proposal")  # fmt: skip
        if changed:
            log.add("deal.amount_changed", changed, deal_id=deal, amount=Decimal("2000"),
                    currency="USD")  # fmt: skip
        log.add("deal.stage_changed", "2026-06-03T09:00:00+00:00", deal_id=deal,
                from_stage="proposal", to_stage="won")  # fmt: skip
    log.add(
        "deal.opened",
        "2026-06-04T09:00:00+00:00",
        deal_id="d3",
        customer_id="c",
        deal_kind="new_business",
        amount=Decimal("70"),
        currency="EUR",
        stage="prospect",
    )
    kpis = KpiEngine(definition, ZONE)
    kpis.apply(log.records)
    rows = kpis.rows()
    assert table(rows, "won_value", "month") == cells("month", "2026-06-01", all=2500, tA=2500,
                                                      r1=2500)  # fmt: skip
    pipeline = table(rows, "pipeline_value", "month")
    assert pipeline[("month", "2026-05-01", "all")] == 1800  # 900 + 900, open at May's end
    assert pipeline[("month", "2026-06-01", "all")] == 70
    # without a table (DEFAULT_DEFINITION) the same amounts count as they are
    assert table(run(log.records), "won_value", "month")[("month", "2026-06-01", "all")] == 3000
