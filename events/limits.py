"""The Limits of the event contract (events.md, part of version 1). Pure: text in, reason out.

Every check here raises `InvalidEvent` with a reason that names the limit, so a message outside
them is dead-lettered like any other invalid event and can never stop or stall the pipeline.
The same functions serve every door: `kpiflow publish`, the worker and `kpiflow verify`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from kpiflow.events.errors import InvalidEvent

MAX_MESSAGE_BYTES = 1_000_000  # the message value, or a file line without its newline
MAX_DEPTH = 64  # JSON nesting; the event object itself is level 1
MAX_NUMBER_DIGITS = 100  # integer, fraction and exponent digits of one JSON number
EARLIEST_OCCURRED_AT = datetime(2000, 1, 1, tzinfo=UTC)
MAX_AHEAD = timedelta(days=7)  # occurred_at after the moment kpiflow first receives the event
AMOUNT_INTEGER_DIGITS = 15
AMOUNT_FRACTION_DIGITS = 6
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

EVENT_ID = re.compile("^" + "-".join(f"[0-9a-fA-F]{{{n}}}" for n in (8, 4, 4, 4, 12)) + "$")


def check_size(raw: bytes | str) -> None:
    size = len(raw) if isinstance(raw, bytes) else _utf8_size(raw)
    if size > MAX_MESSAGE_BYTES:
        raise InvalidEvent(f"message is {size} bytes, more than the {MAX_MESSAGE_BYTES} allowed")


def _utf8_size(text: str) -> int:
    if len(text) * 4 <= MAX_MESSAGE_BYTES:  # cannot exceed the limit, whatever it holds
        return len(text)
    return len(text.encode("utf-8", "surrogatepass"))


def _number(literal: str) -> str:
    if len(literal) <= MAX_NUMBER_DIGITS:  # it cannot hold more digits than characters
        return literal
    digits = sum(ch.isdigit() for ch in literal)
    if digits > MAX_NUMBER_DIGITS:
        raise InvalidEvent(
            f"a JSON number has {digits} digits, more than the {MAX_NUMBER_DIGITS} allowed"
        )
    return literal


def _int(literal: str) -> int:
    return int(_number(literal))


def _float(literal: str) -> float:
    return float(_number(literal))


def _constant(literal: str) -> Any:
    raise InvalidEvent(f"malformed JSON: {literal} is not a JSON value")


_DECODER = json.JSONDecoder(parse_int=_int, parse_float=_float, parse_constant=_constant)


def load_json(text: str) -> Any:
    """`json.loads` within the Limits: nesting depth, number digits, valid Unicode, no NUL."""
    try:
        value = _DECODER.decode(text)
    except RecursionError:
        raise InvalidEvent(f"JSON nests more than {MAX_DEPTH} levels deep") from None
    except json.JSONDecodeError as exc:
        raise InvalidEvent(f"malformed JSON: {exc}") from None
    deep = text.count("{") + text.count("[") > MAX_DEPTH  # else it cannot nest that deep
    escaped = "\\u" in text  # a lone surrogate or a NUL can only come from a \u escape
    if deep or escaped:
        _check_tree(value)
    return value


def _check_tree(value: Any) -> None:
    """Walk the decoded JSON without recursion: depth and every string (keys included)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            check_text(item)
        elif isinstance(item, dict | list):
            if depth > MAX_DEPTH:
                raise InvalidEvent(f"JSON nests more than {MAX_DEPTH} levels deep")
            for child in _children(item):
                stack.append((child, depth + 1))
            if isinstance(item, dict):
                for key in item:
                    check_text(key)


def _children(item: dict | list) -> Iterator[Any]:
    return iter(item.values() if isinstance(item, dict) else item)


def check_text(text: str) -> None:
    if "\x00" in text:
        raise InvalidEvent(f"a string holds a NUL character: {_shown(text)}")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidEvent(
            f"a string is not valid Unicode (a lone surrogate such as \\ud800): {_shown(text)}"
        ) from None


def _shown(text: str) -> str:
    shown = text.encode("utf-8", "backslashreplace").decode("ascii", "backslashreplace")
    return repr(shown[:60] + ("..." if len(shown) > 60 else ""))


def check_event_id(value: str) -> str:
    """The 8-4-4-4-12 form; returned in lower case (ids differing only in case are one id)."""
    if not EVENT_ID.match(value):
        raise ValueError(
            "must be a UUID in the 8-4-4-4-12 form like 6f1c2a8e-2b7e-4a52-9d55-1d1f0c3e9a10 "
            f"(no braces, no urn:uuid: prefix, hyphens included), got {value!r}"
        )
    return value.lower()


def check_amount_digits(value: str) -> None:
    whole, _, fraction = value.partition(".")
    if len(whole) > AMOUNT_INTEGER_DIGITS:
        raise ValueError(
            f"has {len(whole)} digits before the decimal point, more than the "
            f"{AMOUNT_INTEGER_DIGITS} allowed"
        )
    if len(fraction) > AMOUNT_FRACTION_DIGITS:
        raise ValueError(
            f"has {len(fraction)} digits after the decimal point, more than the "
            f"{AMOUNT_FRACTION_DIGITS} allowed"
        )


def check_occurred_at(occurred_at: datetime, received_at: datetime) -> None:
    """No earlier than 2000-01-01T00:00:00Z, no later than 7 days after `received_at`."""
    if occurred_at < EARLIEST_OCCURRED_AT:
        raise InvalidEvent(
            f"occurred_at: {occurred_at.isoformat()} is before "
            f"{EARLIEST_OCCURRED_AT.isoformat().replace('+00:00', 'Z')}, the earliest allowed"
        )
    latest = received_at + MAX_AHEAD
    if occurred_at > latest:
        raise InvalidEvent(
            f"occurred_at: {occurred_at.isoformat()} is more than 7 days after the event was "
            f"received ({received_at.astimezone(UTC).isoformat()}): a clock or typing error"
        )


def received_from_ms(timestamp_ms: int | None) -> datetime:
    """The moment kpiflow first received a message: its Kafka record timestamp (milliseconds),
    or now when it has none. The worker and `verify` use the same function on the same record,
    so they judge the 7-days-ahead bound identically."""
    if timestamp_ms is None or timestamp_ms < 0:
        return datetime.now(UTC)
    return _EPOCH + timedelta(milliseconds=timestamp_ms)
