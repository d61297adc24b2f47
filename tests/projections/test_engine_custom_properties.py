"""Custom KPIs under disorder: an independent oracle, and order, duplication and batch splits.

The oracle: a custom KPI is its base computed over the events that pass its filter, with the
attributes read from *all* events (the lead's first lead.created, the deal's first deal.opened).
So it equals the catalog engine's base KPI on the event set where the filtered family keeps only
the passing events (activities; the lead's events; the deal's events) and everything else stays,
computed here by a plain reference that knows nothing of the engine's incremental bookkeeping.
(One reading: a custom KPI over pipeline_value has an `all` row for the same periods as
pipeline_value, from the first to the last event of any kind.)
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpiflow.projections.custom import family_of
from kpiflow.projections.definitions import DEFAULT_DEFINITION, Definition
from kpiflow.projections.engine import KpiEngine
from kpiflow.projections.records import EventRecord
from tests.projections.kpi_events import AMSTERDAM

INSTANTS = [
    "2026-09-30T21:59:00Z",
    "2026-09-30T22:00:00Z",
    "2026-10-24T22:30:00Z",
    "2026-10-25T00:30:00Z",
    "2026-10-25T01:30:00Z",
    "2026-10-31T23:00:00Z",
    "2026-11-30T12:00:00Z",
]
PEOPLE = [("r1", "tA"), ("r2", "tA"), ("r3", "tB")]
LEADS = ["", "L1", "L2", "L3"]
DEALS = ["", "D1", "D2", "D3"]
CHANNELS = ["trade-show:expo-dec", "trade-show:fair", "outbound-list-2024", "inbound-web", ""]
LEAD_CREATED = st.fixed_dictionaries({
    "event_type": st.just("lead.created"),
    "lead_id": st.sampled_from(LEADS[1:]),
    "channel": st.sampled_from(CHANNELS),
})  # fmt: skip
SOURCES = ["hubspot", "dialer", "crm-import"]
AMOUNTS = [Decimal("0"), Decimal("100"), Decimal("250.50")]

KPIS = {
    "expo_appointments": {
        "kind": "result",
        "description": "meetings and intakes with leads from the December expo",
        "base": "activities",
        "where": {"activity_type": ["meeting", "intake"], "lead.channel": "trade-show:expo-dec"},
    },
    "list_followups": {
        "kind": "action",
        "description": "outbound contacts with leads from the old list",
        "base": "outbound_contacts",
        "where": {"lead.channel": {"prefix": "outbound-list"}},
    },
    "points_not_dialer": {
        "kind": "action",
        "description": "points of activities not logged by the dialer, on upsell deals",
        "base": "activity_points",
        "where": {"source": {"not": "dialer"}, "deal.kind": ["upsell", "renewal"]},
    },
    "show_leads": {
        "kind": "result",
        "description": "leads from any trade show",
        "base": "leads_created",
        "where": {"lead.channel": {"prefix": "trade-show:"}},
    },
    "qualified_not_inbound": {
        "kind": "result",
        "description": "qualified leads not from inbound-web",
        "base": "qualified_leads",
        "where": {"lead.channel": {"not": ["inbound-web"]}},
    },
    "crm_deals": {
        "kind": "result",
        "description": "deals opened from the CRM import",
        "base": "deals_opened",
        "where": {"deal.source": "crm-import"},
    },
    "show_won_value": {
        "kind": "result",
        "description": "won value of deals from trade-show leads",
        "base": "won_value",
        "where": {"lead.channel": {"prefix": "trade-show:"}},
    },
    "enterprise_pipeline": {
        "kind": "result",
        "description": "open enterprise value",
        "base": "pipeline_value",
        "where": {"deal.product": "enterprise"},
    },
    "show_close_rate": {
        "description": "close rate of deals from any trade show",
        "base": "close_rate",
        "where": {"lead.channel": {"prefix": "trade-show:"}},
    },
    "upsell_velocity": {
        "description": "velocity of upsells",
        "base": "deal_velocity_days",
        "where": {"deal.kind": "upsell"},
    },
    "proposal_days_basic": {
        "description": "days in proposal of basic deals",
        "base": "stage_days:proposal",
        "where": {"deal.product": {"not": "enterprise"}},
    },
    "all_won": {"kind": "result", "description": "the base under a new name", "base": "won_deals"},
}
DEFINITION = Definition.model_validate({"description": "custom", "kpis": KPIS})

instant = st.sampled_from(INSTANTS)
person = st.sampled_from(PEOPLE)
source = st.sampled_from(SOURCES)
body = st.one_of(
    st.fixed_dictionaries({
        "event_type": st.just("activity.logged"),
        "activity_type": st.sampled_from(["call", "email", "meeting", "intake", "demo"]),
        "direction": st.sampled_from(["outbound", "outbound", "inbound"]),
        "lead_id": st.sampled_from(LEADS),
        "deal_id": st.sampled_from(DEALS),
    }),
    LEAD_CREATED,
    LEAD_CREATED,
    st.fixed_dictionaries({
        "event_type": st.just("lead.qualification_assessed"),
        "lead_id": st.sampled_from(LEADS[1:]),
        "checklist": st.sampled_from([{"budget": True, "authority": True, "need": True}, {}]),
    }),
    st.fixed_dictionaries({
        "event_type": st.just("deal.opened"),
        "deal_id": st.sampled_from(DEALS[1:]),
        "lead_id": st.sampled_from(LEADS),
        "customer_id": st.just("c1"),
        "deal_kind": st.sampled_from(["new_business", "upsell", "renewal"]),
        "product": st.sampled_from(["enterprise", "basic"]),
        "amount": st.sampled_from(AMOUNTS),
        "stage": st.sampled_from(["prospect", "proposal"]),
    }),
    st.fixed_dictionaries({
        "event_type": st.just("deal.stage_changed"),
        "deal_id": st.sampled_from(DEALS[1:]),
        "from_stage": st.just("prospect"),
        "to_stage": st.sampled_from(["proposal", "negotiation", "won", "won", "lost"]),
    }),
    st.fixed_dictionaries({
        "event_type": st.just("deal.amount_changed"),
        "deal_id": st.sampled_from(DEALS[1:]),
        "amount": st.sampled_from(AMOUNTS),
    }),
)  # fmt: skip
events = st.lists(st.tuples(instant, person, source, body), min_size=1, max_size=60)


def to_records(drawn: list) -> list[EventRecord]:
    return [
        EventRecord(
            event_id=str(uuid.UUID(int=i + 1)),
            occurred_at=datetime.fromisoformat(at),
            rep_id=rep,
            team_id=team,
            seq=i + 1,
            source=src,
            **fields,
        )
        for i, (at, (rep, team), src, fields) in enumerate(drawn)
    ]


def rows(definition: Definition, records: list[EventRecord]) -> dict:
    kpis = KpiEngine(definition, AMSTERDAM)
    kpis.apply(records)
    return {row.key: row.value for row in kpis.rows()}


def _order(r: EventRecord) -> tuple:
    return (r.occurred_at.timestamp(), r.seq, r.event_id)


def reference(name: str, records: list[EventRecord]) -> dict:
    """The custom KPI's rows by the definition in kpis.md, without the engine's bookkeeping."""
    custom = DEFINITION.kpis[name]
    channel: dict[str, str] = {}
    for r in sorted((r for r in records if r.event_type == "lead.created"), key=_order):
        channel.setdefault(r.lead_id, r.channel)
    deal: dict[str, EventRecord] = {}
    for r in sorted((r for r in records if r.event_type == "deal.opened"), key=_order):
        deal.setdefault(r.deal_id, r)

    def passes(own: dict[str, str], lead_id: str, deal_id: str) -> bool:
        opened = deal.get(deal_id) if deal_id else None
        lead = lead_id or (opened.lead_id if opened else "")
        values = {
            **own,
            "lead.channel": channel.get(lead) if lead else None,
            "deal.kind": opened.deal_kind if opened else None,
            "deal.product": opened.product if opened else None,
            "deal.source": opened.source if opened else None,
        }
        return all(c.matches(values.get(f)) for f, c in custom.where.items())

    family = family_of(custom.base)
    kept = []
    for r in records:
        if family == "activity" and r.event_type == "activity.logged":
            own = {"activity_type": r.activity_type, "direction": r.direction, "source": r.source}
            if not passes(own, r.lead_id, r.deal_id):
                continue
        if family == "lead" and r.event_type.startswith("lead."):
            if not passes({}, r.lead_id, ""):
                continue
        if family == "deal" and r.event_type.startswith("deal."):
            if not passes({}, "", r.deal_id):
                # the periods of pipeline_value's `all` series span every event, filtered or
                # not (the organisation's timeline): keep the instant, with no deal effect
                kept.append(replace(r, event_type="customer.churned", customer_id="zz"))
                continue
        kept.append(r)
    base = rows(DEFAULT_DEFINITION, kept)
    return {(name, *key[1:]): value for key, value in base.items() if key[0] == custom.base}


def custom_rows(name: str, table: dict) -> dict:
    return {key: value for key, value in table.items() if key[0] == name}


PROPERTY = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(drawn=events)
def test_every_custom_kpi_is_its_base_over_the_passing_events(drawn) -> None:
    records = to_records(drawn)
    table = rows(DEFINITION, records)
    for name in KPIS:
        assert custom_rows(name, table) == reference(name, records), name
    catalog = rows(DEFAULT_DEFINITION, records)
    assert {k: v for k, v in table.items() if k[0] not in KPIS} == catalog  # catalog untouched


@PROPERTY
@given(drawn=events, data=st.data())
def test_permutation_duplication_and_batches_give_the_same_custom_rows(drawn, data) -> None:
    records = to_records(drawn)
    expected = rows(DEFINITION, records)
    copies = data.draw(st.lists(st.sampled_from(records), max_size=10))
    stream = data.draw(st.permutations(records + copies))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=6)))
    kpis = KpiEngine(DEFINITION, AMSTERDAM)
    table: dict = {}
    for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        kpis.apply(stream[start:end])
        upserts, deletes = kpis.take_changes()
        for key in deletes:
            del table[key]
        for row in upserts:
            table[row.key] = row.value
    assert table == expected
    assert {row.key: row.value for row in kpis.rows()} == expected
