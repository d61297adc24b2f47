"""qualified_leads, retention_rate and the new_business growth KPIs. Expected numbers by hand."""

from __future__ import annotations

from datetime import date

from tests.projections.kpi_events import Log, cells, engine, merged, run, table

YES = {"budget": True, "authority": True, "need": True}


def test_qualified_lead_counts_once_and_moves_to_a_late_earlier_assessment() -> None:
    log = Log()
    log.assessed(
        "L1",
        "2026-04-01T10:00:00Z",
        {"budget": True, "authority": True, "need": False},
        rep="r2",
        team="tB",
    )
    log.assessed(
        "L1", "2026-04-15T10:00:00Z", {"budget": True, "authority": True}, rep="r2", team="tB"
    )
    log.assessed("L1", "2026-05-10T10:00:00Z", YES, rep="r1", team="tA")  # Sun May 10
    log.assessed("L2", "2026-05-11T00:00:00Z", {**YES, "timing": False}, rep="r1", team="tA")
    log.assessed(
        "L1", "2026-06-01T10:00:00Z", YES, rep="r1", team="tA"
    )  # qualifies again: once ever
    late = log.assessed("L1", "2026-04-28T10:00:00Z", YES, rep="r2", team="tB")  # Tue Apr 28, late
    kpis = engine()
    kpis.apply(r for r in log.records if r is not late)
    first_upserts, _ = kpis.take_changes()
    assert table(kpis.rows(), "qualified_leads", "month") == cells(
        "month", "2026-05-01", all=2, tA=2, r1=2
    )
    assert first_upserts

    kpis.apply([late])
    upserts, deletes = kpis.take_changes()
    rows = kpis.rows()
    assert table(rows, "qualified_leads") == merged(
        cells("day", "2026-04-28", all=1, tB=1, r2=1),
        cells("day", "2026-05-11", all=1, tA=1, r1=1),
        cells("week", "2026-04-27", all=1, tB=1, r2=1),
        cells("week", "2026-05-11", all=1, tA=1, r1=1),
        cells("month", "2026-04-01", all=1, tB=1, r2=1),
        cells("month", "2026-05-01", all=1, tA=1, r1=1),
        cells("quarter", "2026-04-01", all=2, tA=1, r1=1, tB=1, r2=1),
    )
    lead_deletes = sorted(
        (k[1], k[2].isoformat(), k[4]) for k in deletes if k[0] == "qualified_leads"
    )
    assert lead_deletes == [
        ("day", "2026-05-10", "all"),
        ("day", "2026-05-10", "r1"),
        ("day", "2026-05-10", "tA"),
        ("week", "2026-05-04", "all"),
        ("week", "2026-05-04", "r1"),
        ("week", "2026-05-04", "tA"),
    ]
    lead_upserts = {
        (r.grain, r.period_start.isoformat(), r.dimension): r.value
        for r in upserts
        if r.kpi == "qualified_leads"
    }
    assert lead_upserts == merged(
        cells("day", "2026-04-28", all=1, tB=1, r2=1),
        cells("week", "2026-04-27", all=1, tB=1, r2=1),
        cells("month", "2026-04-01", all=1, tB=1, r2=1),
        cells("month", "2026-05-01", all=1, tA=1, r1=1),
        cells("quarter", "2026-04-01", tB=1, r2=1, tA=1, r1=1),  # all stays 2: not an upsert
    )


def test_qualifying_assessments_at_the_same_instant_go_by_arrival() -> None:
    log = Log()
    first = log.assessed("L", "2026-04-01T10:00:00Z", YES, rep="r1", team="tA")
    log.assessed("L", "2026-04-01T10:00:00Z", YES, rep="r2", team="tB")
    assert first.seq == 1
    for order in (log.records, list(reversed(log.records))):
        assert table(run(order), "qualified_leads", "day") == cells(
            "day", "2026-04-01", all=1, tA=1, r1=1
        )


def retention_log() -> Log:
    log = Log()
    a, b = {"rep": "r1", "team": "tA"}, {"rep": "r2", "team": "tB"}
    for deal, customer, kind, who in (
        ("K1", "c1", "new_business", a),
        ("K2", "c2", "new_business", b),
        ("K3", "c3", "new_business", a),
        ("K4", "c4", "new_business", b),
        ("K5", "c5", "upsell", a),
        ("K6", "c1", "new_business", b),
    ):
        log.opened(deal, "2026-01-01T00:00:00Z", "100", kind, customer=customer, **who)
    log.stage("K1", "2026-02-10T00:00:00Z", "won", **a)  # c1 active from Q2, team tA
    log.stage("K2", "2026-03-31T23:00:00Z", "won", **b)  # c2: won on the last day of Q1
    log.stage("K3", "2026-01-05T00:00:00Z", "won", **a)  # c3
    log.stage("K4", "2026-04-10T00:00:00Z", "won", **b)  # c4 active from Q3
    log.stage("K5", "2026-01-10T00:00:00Z", "won", **a)  # c5: an upsell, never active
    log.stage("K6", "2026-06-01T00:00:00Z", "won", **b)  # c1's second win: its team stays tA
    log.churned("c3", "2026-04-01T00:00:00Z")  # on Q2's first day: active in Q2, not retained
    log.churned("c2", "2026-05-15T00:00:00Z")
    log.churned("c2", "2026-08-01T00:00:00Z")  # a second churn changes nothing
    log.activity("2026-07-20T09:00:00Z")  # the last event: Q3 is the current quarter
    return log


def test_retention_rate_with_churn() -> None:
    rows = run(retention_log().records)
    # Q1: nobody active (no win before Jan 1): no row.
    # Q2: active c1 (tA), c2 (tB), c3 (tA); retained c1 only.
    # Q3: active c1 (tA), c4 (tB); both retained so far.
    assert table(rows, "retention_rate") == merged(
        cells("quarter", "2026-04-01", all=1 / 3, tA=0.5, tB=0.0),
        cells("quarter", "2026-07-01", all=1.0, tA=1.0, tB=1.0),
    )


def test_retention_late_churn_only_changes_its_quarter() -> None:
    kpis = engine()
    kpis.apply(retention_log().records)
    kpis.take_changes()
    log = Log(start=1000)
    log.churned("c1", "2026-07-15T00:00:00Z")
    kpis.apply(log.records)
    upserts, deletes = kpis.take_changes()
    assert deletes == []
    assert {(r.kpi, r.period_start, r.dimension): r.value for r in upserts} == {
        ("retention_rate", date(2026, 7, 1), "all"): 0.5,
        ("retention_rate", date(2026, 7, 1), "tA"): 0.0,
    }


def growth_log() -> Log:
    """new_business wins (opened on the 5th, won on the 6th of the month), reporting zone UTC."""
    log = Log()
    wins = [
        ("2025-01", "tA", "100"),
        ("2025-02", "tA", "200"),
        ("2025-04", "tA", "50"),
        ("2026-01", "tA", "150"),
        ("2026-01", "tB", "50"),
        ("2026-02", "tA", "100"),
        ("2026-04", "tA", "100"),
    ]
    for i, (month, team, amount) in enumerate(wins):
        rep = "r1" if team == "tA" else "r2"
        log.opened(f"G{i}", f"{month}-05T10:00:00Z", amount, rep=rep, team=team, customer=f"g{i}")
        log.stage(f"G{i}", f"{month}-06T10:00:00Z", "won", rep=rep, team=team)
    return log


def test_growth_month_over_month() -> None:
    # all: 2025-01 100, -02 200, -04 50, 2026-01 200, -02 100, -04 100 (others 0)
    # tA:  2025-01 100, -02 200, -04 50, 2026-01 150, -02 100, -04 100;  tB: 2026-01 50
    rows = run(growth_log().records)
    assert table(rows, "new_business_growth_mom") == merged(
        cells("month", "2025-02-01", all=1.0, tA=1.0),
        cells("month", "2025-03-01", all=-1.0, tA=-1.0),  # 0 after a non-zero month
        # 2025-04: the base 2025-03 is 0: no row
        cells("month", "2025-05-01", all=-1.0, tA=-1.0),
        cells("month", "2026-02-01", all=-0.5, tA=100 / 150 - 1, tB=-1.0),
        cells("month", "2026-03-01", all=-1.0, tA=-1.0),
    )


def test_growth_year_over_year_and_its_change() -> None:
    rows = run(growth_log().records)
    assert table(rows, "new_business_growth_yoy") == merged(
        cells("month", "2026-01-01", all=1.0, tA=0.5),  # tB had 0 a year before: no row
        cells("month", "2026-02-01", all=-0.5, tA=-0.5),
        # 2026-03: the base 2025-03 is 0: no row
        cells("month", "2026-04-01", all=1.0, tA=1.0),
    )
    assert table(rows, "new_business_growth_yoy_change") == merged(
        cells("month", "2026-02-01", all=-1.5, tA=-1.0),
    )
    assert {row.grain for row in rows if row.kpi.startswith("new_business_growth")} == {"month"}


def test_growth_extends_to_the_last_month_with_events() -> None:
    kpis = engine()
    kpis.apply(growth_log().records)
    kpis.take_changes()
    log = Log(start=1000)
    log.activity("2026-05-20T10:00:00Z", rep="r1", team="tA")
    kpis.apply(log.records)
    upserts, _ = kpis.take_changes()
    growth = {
        (r.kpi, r.period_start, r.dimension): r.value
        for r in upserts
        if r.kpi.startswith("new_business")
    }
    assert growth == {
        ("new_business_growth_mom", date(2026, 5, 1), "all"): -1.0,
        ("new_business_growth_mom", date(2026, 5, 1), "tA"): -1.0,
    }
