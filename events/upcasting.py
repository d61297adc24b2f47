"""Old payloads pass through `upcast_vN_to_vN+1(dict) -> dict` before validation.

Version 1 is the only version so far, so the chain is empty. To add version 2 of a type: write
`upcast_v1_to_v2(payload) -> payload` in this module, register it in `UPCASTERS[(type, 1)]`, bump
`CURRENT_VERSION[type]`, and give it its own test in `tests/events/test_upcasting.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Payload = dict[str, Any]
Upcaster = Callable[[Payload], Payload]

# (event_type, from_version) -> function producing the payload of from_version + 1
UPCASTERS: dict[tuple[str, int], Upcaster] = {}
CURRENT_VERSION = 1


def upcast(payload: Payload) -> Payload:
    """Apply every registered upcaster until the payload is at the current version.

    A payload whose version has no upcaster is returned unchanged, so validation then reports
    the wrong `schema_version` with the field name.
    """
    while True:
        version = payload.get("schema_version")
        if type(version) is not int or version >= CURRENT_VERSION:
            return payload
        step = UPCASTERS.get((str(payload.get("event_type")), version))
        if step is None:
            return payload
        payload = step(dict(payload))
