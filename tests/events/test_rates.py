"""Exchange rates: the file, the rate valid on a date, exact conversion with its rounding, and
validation of amounts in another currency."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest

from kpiflow.errors import ConfigError
from kpiflow.events import InvalidEvent, parse_event
from kpiflow.events.rates import ExchangeRates, parse_rates

TABLE = """currency,valid_from,rate
USD,2026-01-01,0.9
USD,2026-06-01,0.8
GBP,2026-03-01,1.17
"""


def rates(tz: str = "UTC") -> ExchangeRates:
    return parse_rates(TABLE, "EUR", tz)


def test_the_rate_valid_on_a_day_is_the_latest_from_on_or_before_it():
    r = rates()
    assert r.rate_on("USD", date(2025, 12, 31)) is None
    assert r.rate_on("USD", date(2026, 1, 1)) == Decimal("0.9")
    assert r.rate_on("USD", date(2026, 5, 31)) == Decimal("0.9")
    assert r.rate_on("USD", date(2026, 6, 1)) == Decimal("0.8")
    assert r.rate_on("GBP", date(2026, 2, 28)) is None
    assert r.rate_on("CHF", date(2026, 7, 1)) is None


def test_conversion_is_exact_and_rounds_half_to_even_at_6_places():
    r = rates()
    day = date(2026, 7, 1)
    assert r.convert(Decimal("1000"), "USD", day) == Decimal("800.000000")
    assert r.convert(Decimal("100.005"), "GBP", day) == Decimal("117.005850")  # 100.005 x 1.17
    half = parse_rates("currency,valid_from,rate\nUSD,2026-01-01,0.5\n", "EUR", "UTC")
    assert half.convert(Decimal("0.000001"), "USD", day) == Decimal("0.000000")  # .0000005 -> even
    assert half.convert(Decimal("0.000003"), "USD", day) == Decimal("0.000002")  # .0000015 -> even
    assert r.convert(Decimal("12.5"), "EUR", day) == Decimal("12.5")  # the reporting currency
    assert r.convert(Decimal("1"), "CHF", day) is None
    assert ExchangeRates.from_json(json.loads(json.dumps(r.as_json()))) == r


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("currency,rate\nUSD,1\n", "the header must be currency,valid_from,rate"),
        ("currency,valid_from,rate\nusd,2026-01-01,1\n", ":2: currency 'usd'"),
        ("currency,valid_from,rate\nEUR,2026-01-01,1\n", ":2: EUR is the reporting currency"),
        ("currency,valid_from,rate\nUSD,01/01/2026,1\n", ":2: valid_from '01/01/2026'"),
        ("currency,valid_from,rate\nUSD,2026-01-01,-1\n", ":2: rate '-1' is not a decimal > 0"),
        ("currency,valid_from,rate\nUSD,2026-01-01,0\n", ":2: rate '0'"),
        ("currency,valid_from,rate\nUSD,2026-01-01,1\nUSD,2026-01-01,2\n", ":3: USD from"),
    ],
)
def test_file_problems_name_the_line(text, says):
    with pytest.raises(ConfigError, match=says):
        parse_rates(text, "EUR", "UTC", "rates.csv")


def deal(currency: str, at: str) -> bytes:
    return json.dumps(
        {
            "event_id": "0b3c9d2e-7f41-4c55-9a8e-3d2f61b7a904",
            "event_type": "deal.amount_changed",
            "schema_version": 1,
            "occurred_at": at,
            "source": "t",
            "rep_id": "r",
            "team_id": "t",
            "deal_id": "d",
            "amount": "10",
            "currency": currency,
        }
    ).encode()


def test_another_currency_is_valid_only_with_a_rate_for_its_local_date():
    with pytest.raises(InvalidEvent, match="no exchange-rate table is configured"):
        parse_event(deal("USD", "2026-07-01T10:00:00Z"), "EUR")
    parse_event(deal("USD", "2026-07-01T10:00:00Z"), "EUR", rates=rates())
    with pytest.raises(InvalidEvent, match="no CHF rate valid on 2026-07-01"):
        parse_event(deal("CHF", "2026-07-01T10:00:00Z"), "EUR", rates=rates())
    # 2025-12-31T23:30Z is already 2026-01-01 in Amsterdam: the local date decides
    with pytest.raises(InvalidEvent, match="no USD rate valid on 2025-12-31"):
        parse_event(deal("USD", "2025-12-31T23:30:00Z"), "EUR", rates=rates())
    parse_event(deal("USD", "2025-12-31T23:30:00Z"), "EUR", rates=rates("Europe/Amsterdam"))
