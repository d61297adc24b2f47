"""What real pipelines get: duplicates, out-of-order and late arrival, and invalid messages.

For tests and demos. Every valid event of the input comes out exactly once more or less in
place, plus exact duplicates; invalid messages are added (never substituted), so the KPIs of a
noisy stream equal those of the clean one. Invalid messages are dicts that break the contract
whatever the reporting currency, or strings that are not a JSON object. Half of the invalid
dicts keep the event_id of the valid event they were made from: a pipeline must not let a
dead-lettered message block the valid event with the same id.
"""

from __future__ import annotations

import copy
import heapq
import json
import math
from collections.abc import Callable, Iterable, Iterator
from random import Random
from typing import Any

from kpiflow.errors import ConfigError
from kpiflow.events import EVENT_TYPES
from kpiflow.streams.simulator.ids import uuid4_text

Corruption = Callable[[dict[str, Any], Random], "dict[str, Any] | str"]


def with_noise(
    events: Iterable[dict[str, Any]],
    seed: int,
    duplicate_rate: float,
    shuffle_window: int,
    invalid_rate: float,
    *,
    late_rate: float = 0.002,
    late_by: int = 5_000,
) -> Iterator[dict[str, Any] | str]:
    """The events with noise, deterministic for a seed.

    - duplicate_rate: share of events sent twice (same event_id, same content; a deep copy).
    - shuffle_window: each message arrives at most this many positions after its place.
    - invalid_rate: share of events followed by an invalid message made from them.
    - late_rate: share of messages held back by up to `late_by` more positions (still arriving
      before the end): a rep who logs on the next day, a CRM sync that catches up.
    """
    for name, rate in (
        ("duplicate_rate", duplicate_rate),
        ("invalid_rate", invalid_rate),
        ("late_rate", late_rate),
    ):
        if not isinstance(rate, int | float) or not 0 <= rate <= 1:
            raise ConfigError(f"{name} must be between 0 and 1, got {rate!r}")
    for name, count in (("shuffle_window", shuffle_window), ("late_by", late_by)):
        if type(count) is not int or count < 0:
            raise ConfigError(f"{name} must be a whole number >= 0, got {count!r}")
    rng = Random(seed)
    pending: list[tuple[float, int, dict[str, Any] | str]] = []  # (release position, seq, message)
    seq = 0
    position = -1
    for position, event in enumerate(events):
        batch: list[dict[str, Any] | str] = [event]
        if rng.random() < duplicate_rate:
            batch.append(copy.deepcopy(event))
        if rng.random() < invalid_rate:
            batch.append(corrupt(event, rng))
        for message in batch:
            delay = rng.random() * (shuffle_window + 1)
            if rng.random() < late_rate:
                delay += shuffle_window + 1 + rng.randrange(late_by + 1)
            heapq.heappush(pending, (position + delay, seq, message))
            seq += 1
        while pending and pending[0][0] <= position:
            yield heapq.heappop(pending)[2]
    while pending:
        yield heapq.heappop(pending)[2]


def corrupt(event: dict[str, Any], rng: Random) -> dict[str, Any] | str:
    """One invalid message made from a valid event (a random kind of breakage)."""
    name, breakage = CORRUPTIONS[rng.randrange(len(CORRUPTIONS))]
    broken = copy.deepcopy(event)
    if isinstance(broken.get("event_id"), str) and rng.random() < 0.5:
        broken["event_id"] = uuid4_text(rng.getrandbits(128))
    return breakage(broken, rng)


def _required_fields(event: dict[str, Any]) -> list[str]:
    model = EVENT_TYPES.get(event.get("event_type"))
    if model is None:
        return ["event_id", "event_type", "occurred_at", "rep_id"]
    return [name for name, info in model.model_fields.items() if info.is_required()]


def _schema_version_wrong_type(e: dict, rng: Random) -> dict:
    e["schema_version"] = ("1", 1.0, True, 2)[rng.randrange(4)]
    return e


def _field_wrong_type(e: dict, rng: Random) -> dict:
    if "amount" in e:
        e["amount"] = float(e["amount"])  # a JSON number instead of a decimal string
    elif isinstance(e.get("checklist"), dict) and e["checklist"]:
        e["checklist"][next(iter(e["checklist"]))] = ("yes", 1, "true")[rng.randrange(3)]
    elif rng.random() < 0.5:
        e["rep_id"] = int(e["rep_id"].rsplit("-", 1)[-1]) if e["rep_id"][-1:].isdigit() else 7
    else:
        e["occurred_at"] = 1_790_000_000  # epoch seconds instead of RFC 3339
    return e


def _field_missing(e: dict, rng: Random) -> dict:
    required = _required_fields(e)
    del e[required[rng.randrange(len(required))]]
    return e


def _field_null(e: dict, rng: Random) -> dict:
    required = _required_fields(e)
    e[required[rng.randrange(len(required))]] = None
    return e


def _naive_timestamp(e: dict, rng: Random) -> dict:
    stamp = e["occurred_at"]
    e["occurred_at"] = stamp[:-1] if stamp.endswith("Z") else stamp[:-6]
    return e


def _blank_id(e: dict, rng: Random) -> dict:
    ids = [name for name in ("rep_id", "team_id", "deal_id", "lead_id", "customer_id") if name in e]
    e[ids[rng.randrange(len(ids))]] = ("", "   ")[rng.randrange(2)]
    return e


def _event_id_not_uuid(e: dict, rng: Random) -> dict:
    e["event_id"] = f"evt-{rng.randrange(10**6)}"
    return e


def _unknown_event_type(e: dict, rng: Random) -> dict:
    e["event_type"] = ("deal.closed", "activity", "Deal.Opened", "lead.deleted")[rng.randrange(4)]
    return e


def _bad_value(e: dict, rng: Random) -> dict:
    """A string that is not one of the allowed values (an enum, an amount, a currency)."""
    if "amount" in e and rng.random() < 0.5:
        e["amount"] = ("-1200", "1.2e4", "12,500", "")[rng.randrange(4)]
    elif "currency" in e:
        e["currency"] = ("eur", "EURO", "€")[rng.randrange(3)]
    elif "activity_type" in e and rng.random() < 0.5:
        e["activity_type"] = ("fax", "Call", "lunch")[rng.randrange(3)]
    elif "activity_type" in e:
        e["direction"] = ("sideways", "OUTBOUND", "")[rng.randrange(3)]
    elif "to_stage" in e:
        e["to_stage"] = ("closed-won", "Won", "demo")[rng.randrange(3)]
    else:
        e["schema_version"] = 2
    return e


def _not_json(e: dict, rng: Random) -> str:
    text = json.dumps(e)
    kind = rng.randrange(4)
    if kind == 0:
        return text[: max(1, math.floor(len(text) * rng.uniform(0.2, 0.9)))]  # truncated
    if kind == 1:
        return repr(e)  # a Python dict, single quotes
    if kind == 2:
        return ",".join(str(v) for v in e.values() if not isinstance(v, dict))  # a CSV line
    return ("", "null", "[]", "{}}")[rng.randrange(4)]


CORRUPTIONS: tuple[tuple[str, Corruption], ...] = (
    ("schema_version_wrong_type", _schema_version_wrong_type),
    ("field_wrong_type", _field_wrong_type),
    ("field_missing", _field_missing),
    ("field_null", _field_null),
    ("naive_timestamp", _naive_timestamp),
    ("blank_id", _blank_id),
    ("event_id_not_uuid", _event_id_not_uuid),
    ("unknown_event_type", _unknown_event_type),
    ("bad_value", _bad_value),
    ("not_json", _not_json),
)
