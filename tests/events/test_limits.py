"""The Limits of events.md, one by one, at their edges (pure: no Kafka, no ClickHouse)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kpiflow.events import InvalidEvent, parse_event
from kpiflow.events.limits import received_from_ms

RECEIVED = datetime(2026, 11, 4, 12, 0, tzinfo=UTC)
EVENT_ID = "6f1c2a8e-2b7e-4a52-9d55-1d1f0c3e9a10"


def event(**changes) -> dict:
    base = {
        "event_id": EVENT_ID,
        "event_type": "activity.logged",
        "schema_version": 1,
        "occurred_at": "2026-11-04T14:03:12+01:00",
        "source": "hubspot",
        "rep_id": "rep-007",
        "team_id": "team-north",
        "activity_type": "call",
    }
    return {**base, **changes}


def deal(amount: str) -> dict:
    return event(
        event_type="deal.opened",
        activity_type=None,
        deal_id="d-1",
        customer_id="c-1",
        deal_kind="new_business",
        product="p",
        amount=amount,
        currency="EUR",
        stage="prospect",
    )


def parse(value: dict | str | bytes):
    raw = json.dumps(value) if isinstance(value, dict) else value
    return parse_event(raw, "EUR", RECEIVED)


def reason(value) -> str:
    with pytest.raises(InvalidEvent) as caught:
        parse(value)
    return caught.value.reason


def test_size_is_counted_in_bytes_without_the_newline():
    padding = 1_000_000 - len(json.dumps(event(pad="")).encode())
    assert parse(json.dumps(event(pad="x" * padding)))  # exactly 1,000,000 bytes
    assert "1000001 bytes" in reason(json.dumps(event(pad="x" * (padding + 1))))
    two_bytes = "é" * (padding // 2 + 1)  # as a str (a file line), measured as UTF-8
    assert "more than the 1000000 allowed" in reason(
        json.dumps(event(pad=two_bytes), ensure_ascii=False)
    )


def nested(levels: int) -> str:
    """An event whose field `n` makes the JSON `levels` deep (the event object is level 1)."""
    inner = "[" * (levels - 1) + "]" * (levels - 1)
    return json.dumps(event(n="__N__")).replace('"__N__"', inner)


def test_nesting_depth_64_is_the_limit_even_far_past_the_recursion_limit():
    assert parse(nested(64))
    assert "nests more than 64" in reason(nested(65))
    assert "nests more than 64" in reason(nested(10_000))
    deep_object = json.dumps(event(n="__N__")).replace('"__N__"', '{"a":' * 70 + "1" + "}" * 70)
    assert "nests more than 64" in reason(deep_object)


def test_brackets_inside_strings_do_not_count_as_nesting():
    assert parse(event(note="[" * 500 + "{" * 500))


@pytest.mark.parametrize(
    ("literal", "ok"),
    [
        ("9" * 100, True),
        ("9" * 101, False),
        ("1." + "5" * 98, True),  # 1 + 98 = 99 digits
        ("1." + "5" * 100, False),
        ("1" * 50 + "e" + "1" * 50, True),  # exponent digits count too: 100
        ("1" * 50 + "e" + "1" * 51, False),
        ("-" + "9" * 100, True),  # the sign is not a digit
    ],
)
def test_json_numbers_hold_at_most_100_digits(literal, ok):
    text = json.dumps(event(n="__N__")).replace('"__N__"', literal)
    if ok:
        assert parse(text)
    else:
        assert "digits, more than the 100 allowed" in reason(text)


def test_nan_and_infinity_are_not_json():
    text = json.dumps(event(n="__N__")).replace('"__N__"', "NaN")
    assert "malformed JSON" in reason(text)


@pytest.mark.parametrize("where", ["value", "key", "nested"])
def test_lone_surrogates_and_nul_are_invalid_anywhere(where):
    for bad, phrase in (("\ud800", "lone surrogate"), ("a\u0000b", "NUL")):
        if where == "value":
            value = event(rep_id=bad)
        elif where == "key":
            value = event(**{bad: "x"})
        else:
            value = event(extra={"list": [1, {"x": bad}]})
        assert phrase in reason(json.dumps(value))  # json.dumps writes them as \u escapes


def test_a_valid_surrogate_pair_is_fine():
    assert parse(json.dumps(event(rep_id="rep-\U0001f600"))).rep_id == "rep-\U0001f600"


@pytest.mark.parametrize(
    ("occurred_at", "ok"),
    [
        ("2000-01-01T00:00:00Z", True),
        ("1999-12-31T23:59:59.999999Z", False),
        ("2000-01-01T00:30:00+01:00", False),  # 1999-12-31T23:30Z
        ("1969-07-20T20:17:00Z", False),
        ("0001-01-01T01:00:00+05:00", False),
        ("2026-11-11T12:00:00Z", True),  # received + 7 days exactly
        ("2026-11-11T12:00:00.000001Z", False),
        ("2026-11-11T13:00:00+01:00", True),  # the same instant as the bound
        ("2200-01-01T00:00:00Z", False),
        ("9999-12-31T23:00:00-05:00", False),  # past year 9999 in UTC: no overflow
    ],
)
def test_occurred_at_range(occurred_at, ok):
    value = event(occurred_at=occurred_at)
    if ok:
        assert parse(value)
    else:
        assert "occurred_at" in reason(value)


def test_received_from_a_record_timestamp():
    assert received_from_ms(1_700_000_000_123) == datetime(
        2023, 11, 14, 22, 13, 20, 123000, tzinfo=UTC
    )
    assert abs(received_from_ms(None) - datetime.now(UTC)) < timedelta(seconds=5)
    assert abs(received_from_ms(-1) - datetime.now(UTC)) < timedelta(seconds=5)


@pytest.mark.parametrize(
    ("amount", "ok"),
    [
        ("9" * 15, True),
        ("9" * 16, False),
        ("0" * 16, False),  # as written: leading zeros count
        ("1." + "9" * 6, True),
        ("1." + "9" * 7, False),
        ("999999999999999.999999", True),
        ("9" * 400, False),
    ],
)
def test_amount_digits(amount, ok):
    if ok:
        assert str(parse(deal(amount)).amount) == amount
    else:
        assert "amount" in reason(deal(amount))


@pytest.mark.parametrize(
    "event_id",
    [
        "6f1c2a8e2b7e4a529d551d1f0c3e9a10",
        "{6f1c2a8e-2b7e-4a52-9d55-1d1f0c3e9a10}",
        "urn:uuid:6f1c2a8e-2b7e-4a52-9d55-1d1f0c3e9a10",
        "6f1c2a8e-2b7e-4a52-9d55-1d1f0c3e9a1",
        "6f1c2a8e-2b7e-4a52-9d55-1d1f0c3e9a10 ",
        "6f1c2a8e-2b7e-4a52-9d55-1d1f0c3e9a1g",
    ],
)
def test_event_id_only_in_the_8_4_4_4_12_form(event_id):
    assert "8-4-4-4-12" in reason(event(event_id=event_id))


def test_event_ids_differing_in_case_are_one_id():
    assert parse(event(event_id=EVENT_ID.upper())).event_id == EVENT_ID


@given(st.text())
def test_any_string_value_is_either_accepted_or_a_reason_never_a_crash(text):
    raw = json.dumps(event(rep_id=text or "x", note=text))
    try:
        parsed = parse(raw)
    except InvalidEvent as exc:
        assert exc.reason
    else:
        parsed.rep_id.encode("utf-8")  # whatever was accepted can be stored
