"""Every v1 event type round-trips; every invalid case of the spec is rejected naming the field."""

from __future__ import annotations

import json

import pytest

from kpiflow.events import EVENT_TYPES, InvalidEvent, parse_event

BASE = {
    "event_id": "6f1c2a8e-2b7e-4a52-9d55-1d1f0c3e9a10",
    "schema_version": 1,
    "occurred_at": "2026-11-04T14:03:12+01:00",
    "source": "hubspot",
    "rep_id": "rep-007",
    "team_id": "team-north",
}

VALID = {
    "activity.logged": {"activity_type": "call", "direction": "inbound", "lead_id": "lead-1"},
    "lead.created": {"lead_id": "lead-1", "channel": "trade-show:expo-dec"},
    "lead.qualification_assessed": {
        "lead_id": "lead-1",
        "checklist": {"budget": True, "need": False},
    },
    "deal.opened": {
        "deal_id": "deal-1",
        "customer_id": "cust-1",
        "deal_kind": "new_business",
        "product": "enterprise",
        "amount": "12500.50",
        "currency": "EUR",
        "stage": "prospect",
    },
    "deal.stage_changed": {"deal_id": "deal-1", "from_stage": "proposal", "to_stage": "won"},
    "deal.amount_changed": {"deal_id": "deal-1", "amount": "12500", "currency": "EUR"},
    "customer.churned": {"customer_id": "cust-1", "reason": "price"},
}


def event(event_type: str, **changes) -> dict:
    body = {**BASE, "event_type": event_type, **VALID[event_type], **changes}
    return {k: v for k, v in body.items() if v is not ...}


def test_every_type_has_a_valid_example():
    assert set(VALID) == set(EVENT_TYPES)


@pytest.mark.parametrize("event_type", sorted(VALID))
def test_round_trip(event_type):
    payload = event(event_type, extra_field={"kept": True})
    parsed = parse_event(json.dumps(payload), "EUR")
    assert parsed.event_type == event_type
    again = parse_event(json.dumps(parsed.model_dump(mode="json")), "EUR")
    assert again == parsed
    assert again.model_dump(mode="json", exclude_none=True) == payload  # nothing lost, extras kept


def test_defaults_and_optional_nulls():
    parsed = parse_event(event("activity.logged", direction=..., lead_id=None))
    assert parsed.direction == "outbound"
    assert parsed.lead_id is None


@pytest.mark.parametrize(
    ("event_type", "changes", "field"),
    [
        ("activity.logged", {"occurred_at": "2026-11-04T14:03:12"}, "occurred_at"),
        ("activity.logged", {"occurred_at": "2026-11-04 14:03:12Z"}, "occurred_at"),
        ("activity.logged", {"occurred_at": "2026-13-04T14:03:12Z"}, "occurred_at"),
        ("activity.logged", {"occurred_at": 1762261392}, "occurred_at"),
        ("activity.logged", {"event_id": ""}, "event_id"),
        ("activity.logged", {"event_id": "not-a-uuid"}, "event_id"),
        ("activity.logged", {"rep_id": "   "}, "rep_id"),
        ("activity.logged", {"team_id": None}, "team_id"),
        ("activity.logged", {"rep_id": ...}, "rep_id"),
        ("activity.logged", {"schema_version": "1"}, "schema_version"),
        ("activity.logged", {"schema_version": 1.0}, "schema_version"),
        ("activity.logged", {"schema_version": True}, "schema_version"),
        ("activity.logged", {"schema_version": 2}, "schema_version"),
        ("activity.logged", {"activity_type": "fax"}, "activity_type"),
        ("activity.logged", {"direction": "sideways"}, "direction"),
        ("activity.logged", {"lead_id": 42}, "lead_id"),
        ("activity.logged", {"source": 3}, "source"),
        ("lead.created", {"channel": None}, "channel"),
        ("lead.qualification_assessed", {"checklist": {"budget": "yes"}}, "checklist"),
        ("lead.qualification_assessed", {"checklist": ["budget"]}, "checklist"),
        ("deal.opened", {"amount": 12500}, "amount"),
        ("deal.opened", {"amount": "-5"}, "amount"),
        ("deal.opened", {"amount": "1e5"}, "amount"),
        ("deal.opened", {"currency": "eur"}, "currency"),
        ("deal.opened", {"deal_kind": "cross_sell"}, "deal_kind"),
        ("deal.opened", {"stage": "limbo"}, "stage"),
        ("deal.opened", {"customer_id": ...}, "customer_id"),
        ("deal.stage_changed", {"to_stage": "done"}, "to_stage"),
        ("deal.amount_changed", {"amount": "12,5"}, "amount"),
        ("customer.churned", {"customer_id": ""}, "customer_id"),
        ("customer.churned", {"reason": 5}, "reason"),
    ],
)
def test_invalid_cases_name_the_field(event_type, changes, field):
    with pytest.raises(InvalidEvent) as info:
        parse_event(json.dumps(event(event_type, **changes)), "EUR")
    assert info.value.reason.startswith(field) or f"; {field}" in info.value.reason, (
        info.value.reason
    )


def test_unknown_event_type():
    with pytest.raises(InvalidEvent, match="event_type"):
        parse_event(json.dumps({**BASE, "event_type": "deal.teleported"}))


def test_other_currency_is_invalid_without_rates():
    with pytest.raises(InvalidEvent, match="currency: USD"):
        parse_event(json.dumps(event("deal.opened", currency="USD")), "EUR")


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{not json", "malformed JSON"),
        (b"\xff\xfe", "not UTF-8"),
        (b"[1,2]", "JSON object"),
        (b"x" * 1_000_001, "bytes"),
    ],
)
def test_bytes_that_are_not_events(raw, reason):
    with pytest.raises(InvalidEvent, match=reason):
        parse_event(raw)


def test_models_are_frozen():
    parsed = parse_event(json.dumps(event("lead.created")))
    with pytest.raises(Exception):  # noqa: B017 - pydantic raises ValidationError on frozen
        parsed.lead_id = "other"


def test_aggregate_key_order():
    assert (
        parse_event(json.dumps(event("deal.opened", lead_id="lead-9"))).aggregate_key() == "deal-1"
    )
    assert parse_event(json.dumps(event("lead.created"))).aggregate_key() == "lead-1"
    assert parse_event(json.dumps(event("customer.churned"))).aggregate_key() == "cust-1"
    assert (
        parse_event(json.dumps(event("activity.logged", lead_id=None))).aggregate_key() == "rep-007"
    )
