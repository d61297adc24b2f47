"""From bytes or dicts to validated events, with reasons that name the field."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from kpiflow.events.activities import ActivityLogged
from kpiflow.events.customers import CustomerChurned
from kpiflow.events.deals import DealAmountChanged, DealOpened, DealStageChanged
from kpiflow.events.errors import InvalidEvent
from kpiflow.events.leads import LeadCreated, LeadQualificationAssessed
from kpiflow.events.limits import check_occurred_at, check_size, load_json
from kpiflow.events.rates import ExchangeRates
from kpiflow.events.upcasting import upcast

SalesEvent = (
    ActivityLogged
    | LeadCreated
    | LeadQualificationAssessed
    | DealOpened
    | DealStageChanged
    | DealAmountChanged
    | CustomerChurned
)

EVENT_TYPES: dict[str, type[SalesEvent]] = {
    model.EVENT_TYPE: model
    for model in (
        ActivityLogged,
        LeadCreated,
        LeadQualificationAssessed,
        DealOpened,
        DealStageChanged,
        DealAmountChanged,
        CustomerChurned,
    )
}


def decode_json(raw: bytes | str) -> dict[str, Any]:
    """Bytes of one message (or one file line) to a JSON object within the Limits, or
    InvalidEvent."""
    check_size(raw)
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidEvent(f"not UTF-8: {exc}") from None
    value = load_json(raw)
    if not isinstance(value, dict):
        raise InvalidEvent(f"an event must be a JSON object, got {type(value).__name__}")
    return value


def _reason(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors(include_url=False):
        field = ".".join(str(p) for p in error["loc"]) or "event"
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "missing":
            message = "is required"
        parts.append(f"{field}: {message}")
    return "; ".join(parts)


def validate_event_dict(
    payload: dict[str, Any],
    currency: str | None = None,
    received_at: datetime | None = None,
    rates: ExchangeRates | None = None,
) -> SalesEvent:
    """Validate one decoded payload (after upcasting). `currency` is the reporting currency, and
    `rates` the exchange-rate table (an amount in another currency needs a rate valid on its
    date); `received_at` is when kpiflow first received the event (default: now), the reference
    of the 7-days-ahead bound of `occurred_at`."""
    payload = upcast(payload)
    event_type = payload.get("event_type")
    model = EVENT_TYPES.get(event_type) if isinstance(event_type, str) else None
    if model is None:
        known = ", ".join(sorted(EVENT_TYPES))
        raise InvalidEvent(f"event_type: must be one of {known}; got {event_type!r}")
    try:
        event = model.model_validate(payload)
    except ValidationError as exc:
        raise InvalidEvent(_reason(exc)) from None
    amount_currency = event.__dict__.get("currency")
    if currency is not None and amount_currency is not None and amount_currency != currency:
        if rates is None:
            raise InvalidEvent(
                f"currency: {amount_currency} is not the reporting currency {currency} "
                "and no exchange-rate table is configured (KPIFLOW_EXCHANGE_RATES_FILE)"
            )
        day = rates.local_date(event.occurred_at)
        if rates.rate_on(amount_currency, day) is None:
            raise InvalidEvent(
                f"currency: {amount_currency} is not the reporting currency {currency} and the "
                f"exchange-rate table has no {amount_currency} rate valid on {day}"
            )
    check_occurred_at(event.occurred_at, received_at or datetime.now(UTC))
    return event


def parse_event(
    raw: bytes | str | dict[str, Any],
    currency: str | None = None,
    received_at: datetime | None = None,
    rates: ExchangeRates | None = None,
) -> SalesEvent:
    """Decode (if needed) and validate one event; raises InvalidEvent with the reason."""
    payload = raw if isinstance(raw, dict) else decode_json(raw)
    return validate_event_dict(payload, currency, received_at, rates)
