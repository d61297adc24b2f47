"""Customers leaving."""

from __future__ import annotations

from typing import Literal

from kpiflow.events.envelope import Envelope
from kpiflow.events.fields import Id, Str


class CustomerChurned(Envelope):
    EVENT_TYPE = "customer.churned"

    event_type: Literal["customer.churned"]
    customer_id: Id
    reason: Str | None = None
