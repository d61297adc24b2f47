"""Custom KPIs, hand-computed: per family, per operator, absent attributes, late attributes."""

from __future__ import annotations

from datetime import UTC
from decimal import Decimal

from kpiflow.projections.definitions import Definition
from kpiflow.projections.engine import KpiEngine
from tests.projections.kpi_events import Log, cells, merged, table


def definition(**kpis: dict) -> Definition:
    return Definition.model_validate({"description": "test", "kpis": kpis})


def run(defn: Definition, records) -> list:
    kpis = KpiEngine(defn, UTC)
    kpis.apply(records)
    return kpis.rows()


EXPO = {
    "kind": "result",
    "description": "meetings and intakes with leads from the December expo",
    "base": "activities",
    "where": {"activity_type": ["meeting", "intake"], "lead.channel": "trade-show:expo-dec"},
}


def test_activity_family_one_of_and_equal_through_the_lead_and_through_the_deal() -> None:
    log = Log()
    log.created("L1", "2026-10-01T09:00:00Z", channel="trade-show:expo-dec")
    log.created("L2", "2026-10-01T09:00:00Z", channel="inbound-web")
    log.opened("D1", "2026-10-02T09:00:00Z", "10", lead_id="L1")
    log.activity("2026-10-05T10:00:00Z", "meeting", lead_id="L1")  # counts
    log.activity("2026-10-05T11:00:00Z", "intake", deal_id="D1")  # its deal's lead: L1, counts
    log.activity("2026-10-05T12:00:00Z", "meeting", lead_id="L2", deal_id="D1")  # own lead wins
    log.activity("2026-10-05T13:00:00Z", "call", lead_id="L1")  # not a meeting or intake
    log.activity("2026-10-05T14:00:00Z", "meeting")  # no lead: absent, matches nothing
    log.activity("2026-10-06T10:00:00Z", "meeting", lead_id="L9")  # lead never created: absent
    rows = run(definition(expo=EXPO), log.records)
    assert table(rows, "expo", "day") == cells("day", "2026-10-05", all=2, tA=2, r1=2)


def test_a_late_lead_created_moves_the_activities_it_qualifies() -> None:
    log = Log()
    log.activity("2026-10-05T10:00:00Z", "meeting", lead_id="L1", rep="r2", team="tB")
    log.activity("2026-10-12T10:00:00Z", "intake", lead_id="L1")
    created = log.created("L1", "2026-09-20T09:00:00Z", channel="trade-show:expo-dec")
    earlier = log.created("L1", "2026-09-01T09:00:00Z", channel="inbound-web")  # the first
    kpis = KpiEngine(definition(expo=EXPO), UTC)
    kpis.apply(log.records[:2])
    assert table(kpis.rows(), "expo") == {}
    kpis.apply([created])  # arrives weeks late: both activities count now
    upserts, _ = kpis.take_changes()
    assert any(row.kpi == "expo" for row in upserts)
    assert table(kpis.rows(), "expo", "month") == cells(
        "month", "2026-10-01", all=2, tA=1, r1=1, tB=1, r2=1
    )
    kpis.apply([earlier])  # an even earlier lead.created, another channel: nothing counts
    upserts, deletes = kpis.take_changes()
    assert table(kpis.rows(), "expo") == {}
    assert any(key[0] == "expo" for key in deletes)


def test_not_and_prefix_and_an_absent_attribute_matching_not_even_not() -> None:
    log = Log()
    log.created("L1", "2026-10-01T09:00:00Z", channel="outbound-list-2023")
    log.created("L2", "2026-10-01T09:00:00Z", channel="outbound-listing")
    log.created("L3", "2026-10-01T09:00:00Z", channel="inbound-web")
    for lead in ("L1", "L2", "L3", "L4", ""):
        log.activity("2026-10-05T10:00:00Z", "call", lead_id=lead)
    defn = definition(
        followups={
            "kind": "action",
            "description": "outbound contacts with the old list",
            "base": "outbound_contacts",
            "where": {"lead.channel": {"prefix": ["outbound-list-", "outbound-listing"]}},
        },
        not_inbound={
            "kind": "action",
            "description": "outbound contacts with leads not from the web",
            "base": "outbound_contacts",
            "where": {"lead.channel": {"not": "inbound-web"}},
        },
    )
    rows = run(defn, log.records)
    assert table(rows, "followups", "day") == cells("day", "2026-10-05", all=2, tA=2, r1=2)
    # L4 has no lead.created and one call names no lead: absent matches no condition, not even not
    assert table(rows, "not_inbound", "day") == cells("day", "2026-10-05", all=2, tA=2, r1=2)


def test_activity_points_use_the_versions_weights_and_source_filters() -> None:
    log = Log()
    log.activity("2026-10-05T10:00:00Z", "meeting", source="dialer")
    log.activity("2026-10-05T11:00:00Z", "meeting", source="hubspot")
    log.activity("2026-10-05T12:00:00Z", "call", source="hubspot")
    defn = Definition.model_validate({
        "description": "points",
        "points": {"meeting": 5},
        "kpis": {
            "crm_points": {
                "kind": "action",
                "description": "points of activities logged in the CRM",
                "base": "activity_points",
                "where": {"source": "hubspot"},
            }
        },
    })  # fmt: skip
    assert table(run(defn, log.records), "crm_points", "day") == cells(
        "day", "2026-10-05", all=8, tA=8, r1=8
    )  # meeting 5 + call 3


def test_lead_family_counts_leads_of_a_channel_once() -> None:
    log = Log()
    log.created("L1", "2026-10-01T09:00:00Z", channel="trade-show:expo-dec", rep="r2", team="tB")
    log.created("L1", "2026-10-03T09:00:00Z", channel="inbound-web")  # not the first
    log.created("L2", "2026-10-02T09:00:00Z", channel="inbound-web")
    yes = {"budget": True, "authority": True, "need": True}
    log.assessed("L1", "2026-10-10T09:00:00Z", yes)
    log.assessed("L2", "2026-10-10T09:00:00Z", yes)
    defn = definition(
        show_leads={
            "kind": "result",
            "description": "leads from trade shows",
            "base": "leads_created",
            "where": {"lead.channel": {"prefix": "trade-show:"}},
        },
        show_qualified={
            "kind": "result",
            "description": "qualified leads from trade shows",
            "base": "qualified_leads",
            "where": {"lead.channel": {"prefix": "trade-show:"}},
        },
    )
    rows = run(defn, log.records)
    assert table(rows, "show_leads", "month") == cells("month", "2026-10-01", all=1, tB=1, r2=1)
    assert table(rows, "show_qualified", "month") == cells(
        "month", "2026-10-01", all=1, tA=1, r1=1
    )  # attributed to the qualifying assessment's rep, like the base


def test_deal_family_won_value_pipeline_close_rate_and_a_median_with_a_filter() -> None:
    log = Log()
    log.created("L1", "2026-09-01T09:00:00Z", channel="trade-show:fair")
    log.opened("D1", "2026-10-01T09:00:00Z", "100", product="enterprise", lead_id="L1")
    log.opened("D2", "2026-10-01T09:00:00Z", "40", product="basic", lead_id="L1")
    log.opened("D3", "2026-10-01T09:00:00Z", "70", product="enterprise")  # no lead
    log.stage("D1", "2026-10-03T09:00:00Z", "proposal")
    log.stage("D1", "2026-10-05T09:00:00Z", "won", frm="proposal")
    log.stage("D2", "2026-10-04T09:00:00Z", "lost")
    log.stage("D3", "2026-10-04T09:00:00Z", "proposal")
    log.stage("D3", "2026-10-05T21:00:00Z", "lost", frm="proposal")
    defn = definition(
        show_won={
            "kind": "result",
            "description": "won value of trade-show deals",
            "base": "won_value",
            "where": {"lead.channel": {"prefix": "trade-show:"}},
        },
        ent_pipeline={
            "kind": "result",
            "description": "open enterprise value",
            "base": "pipeline_value",
            "where": {"deal.product": "enterprise"},
        },
        show_close={
            "description": "close rate of trade-show deals",
            "base": "close_rate",
            "where": {"lead.channel": {"prefix": "trade-show:"}},
        },
        ent_proposal={
            "description": "days in proposal of enterprise deals",
            "base": "stage_days:proposal",
            "where": {"deal.product": "enterprise"},
        },
    )
    rows = run(defn, log.records)
    assert table(rows, "show_won", "day") == cells(
        "day", "2026-10-05", all=Decimal("100"), tA=Decimal("100"), r1=Decimal("100")
    )
    # D1 and D3 open on Oct 1-4 (170), D1 won on Oct 5 and D3 lost the same day: 0
    pipeline = table(rows, "ent_pipeline", "day")
    assert pipeline[("day", "2026-10-01", "all")] == Decimal("170")
    assert pipeline[("day", "2026-10-04", "all")] == Decimal("170")
    assert pipeline[("day", "2026-10-05", "all")] == Decimal("0")
    assert table(rows, "show_close", "month") == cells("month", "2026-10-01", all=0.5, tA=0.5)
    # proposal stays of enterprise deals: D1 2 days, D3 1.5 days; median 1.75
    assert table(rows, "ent_proposal", "month") == cells("month", "2026-10-01", all=1.75, tA=1.75)
    assert all(r.dimension_kind != "rep" for r in rows if r.kpi in ("show_close", "ent_proposal"))


def test_a_deal_opened_arriving_late_with_its_lead_moves_the_deal_in() -> None:
    log = Log()
    log.created("L1", "2026-09-01T09:00:00Z", channel="trade-show:fair")
    won = log.stage("D1", "2026-10-05T09:00:00Z", "won")
    opened = log.opened("D1", "2026-10-01T09:00:00Z", "100", lead_id="L1", kind="upsell")
    defn = definition(
        show_won_deals={
            "kind": "result",
            "description": "won trade-show upsells",
            "base": "won_deals",
            "where": {"lead.channel": {"prefix": "trade-show:"}, "deal.kind": ["upsell"]},
        }
    )
    kpis = KpiEngine(defn, UTC)
    kpis.apply([log.records[0], won])
    assert table(kpis.rows(), "show_won_deals") == {}  # the deal's lead is not known yet
    kpis.apply([opened])
    assert table(kpis.rows(), "show_won_deals", "day") == cells(
        "day", "2026-10-05", all=1, tA=1, r1=1
    )


def test_an_empty_where_is_the_base_under_a_new_name() -> None:
    log = Log()
    log.opened("D1", "2026-10-01T09:00:00Z", "100")
    log.stage("D1", "2026-10-05T09:00:00Z", "won")
    log.opened("D2", "2026-10-02T09:00:00Z", "1")
    defn = definition(
        opened_again={"kind": "result", "description": "deals opened", "base": "deals_opened"}
    )
    rows = run(defn, log.records)
    renamed = {k: v for k, v in table(rows, "opened_again").items()}
    assert renamed == table(rows, "deals_opened")
    assert renamed == merged(
        cells("day", "2026-10-01", all=1, tA=1, r1=1),
        cells("day", "2026-10-02", all=1, tA=1, r1=1),
        cells("week", "2026-09-28", all=2, tA=2, r1=2),
        cells("month", "2026-10-01", all=2, tA=2, r1=2),
        cells("quarter", "2026-10-01", all=2, tA=2, r1=2),
    )
