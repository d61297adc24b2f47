"""Field types of the contract: strict JSON types, RFC 3339 with offset, decimal strings."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, ConfigDict, PlainSerializer, WithJsonSchema

from kpiflow.events.limits import EVENT_ID, check_amount_digits, check_event_id

STAGES = ("prospect", "qualified", "meeting", "proposal", "negotiation", "won", "lost")

_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
_AMOUNT = re.compile(r"^\d+(\.\d+)?$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")

MODEL_CONFIG = ConfigDict(frozen=True, extra="allow", strict=True, populate_by_name=True)


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"must be a string, got {type(value).__name__}")
    return value


def _non_blank(value: Any) -> str:
    value = _string(value)
    if not value.strip():
        raise ValueError("must be a non-blank string")
    return value


def _uuid(value: Any) -> str:
    return check_event_id(_string(value))


def _timestamp(value: Any) -> datetime:
    if isinstance(value, datetime):  # already parsed (model_copy, tests)
        if value.tzinfo is None:
            raise ValueError("must carry a UTC offset")
        return value
    value = _string(value)
    if not _RFC3339.match(value):
        raise ValueError(
            "must be RFC 3339 with an offset (YYYY-MM-DDTHH:MM:SS[.frac]Z or +HH:MM), got "
            f"{value!r}"
        )
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"is not a valid date-time: {exc}") from None
    return parsed


def _amount(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        return value
    value = _string(value)
    if not _AMOUNT.match(value):
        raise ValueError(
            "must be a decimal string of digits like '12500.50' (no sign, no exponent), got "
            f"{value!r}"
        )
    check_amount_digits(value)
    return Decimal(value)


def _currency(value: Any) -> str:
    value = _string(value)
    if not _CURRENCY.match(value):
        raise ValueError(f"must be a three-letter upper-case ISO 4217 code, got {value!r}")
    return value


def _stage(value: Any) -> str:
    value = _string(value)
    if value not in STAGES:
        raise ValueError(f"must be one of {', '.join(STAGES)}; got {value!r}")
    return value


def _schema_version_1(value: Any) -> int:
    if type(value) is not int or value != 1:
        raise ValueError(f"must be the integer 1, got {value!r}")
    return value


def _bool_map(value: Any) -> dict[str, bool]:
    if not isinstance(value, dict):
        raise ValueError(f"must be an object of criterion -> boolean, got {type(value).__name__}")
    for key, item in value.items():
        if type(item) is not bool:
            raise ValueError(f"criterion {key!r} must be true or false, got {item!r}")
    return dict(value)


def _iso(value: datetime) -> str:
    return value.isoformat()


Str = Annotated[str, BeforeValidator(_string)]
Id = Annotated[
    str,
    BeforeValidator(_non_blank),
    WithJsonSchema({"type": "string", "minLength": 1, "pattern": r"\S"}),
]
EventId = Annotated[
    str,
    BeforeValidator(_uuid),
    WithJsonSchema({"type": "string", "format": "uuid", "pattern": EVENT_ID.pattern}),
]
Timestamp = Annotated[
    datetime,
    BeforeValidator(_timestamp),
    PlainSerializer(_iso, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": _RFC3339.pattern}),
]
Amount = Annotated[
    Decimal,
    BeforeValidator(_amount),
    PlainSerializer(str, return_type=str),
    WithJsonSchema({"type": "string", "pattern": _AMOUNT.pattern}),
]
Currency = Annotated[
    str,
    BeforeValidator(_currency),
    WithJsonSchema({"type": "string", "pattern": _CURRENCY.pattern}),
]
Stage = Annotated[
    str, BeforeValidator(_stage), WithJsonSchema({"type": "string", "enum": list(STAGES)})
]
SchemaVersion1 = Annotated[
    int, BeforeValidator(_schema_version_1), WithJsonSchema({"type": "integer", "const": 1})
]
Checklist = Annotated[
    dict[str, bool],
    BeforeValidator(_bool_map),
    WithJsonSchema({"type": "object", "additionalProperties": {"type": "boolean"}}),
]
