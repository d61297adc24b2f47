"""Deals: opened, moved through stages, re-priced."""

from __future__ import annotations

from typing import Literal

from kpiflow.events.envelope import Envelope
from kpiflow.events.fields import Amount, Currency, Id, Stage, Str

DealKind = Literal["new_business", "upsell", "renewal"]


class DealOpened(Envelope):
    EVENT_TYPE = "deal.opened"

    event_type: Literal["deal.opened"]
    deal_id: Id
    customer_id: Id
    lead_id: Id | None = None
    deal_kind: DealKind
    product: Str
    amount: Amount
    currency: Currency
    stage: Stage


class DealStageChanged(Envelope):
    EVENT_TYPE = "deal.stage_changed"

    event_type: Literal["deal.stage_changed"]
    deal_id: Id
    from_stage: Stage
    to_stage: Stage


class DealAmountChanged(Envelope):
    EVENT_TYPE = "deal.amount_changed"

    event_type: Literal["deal.amount_changed"]
    deal_id: Id
    amount: Amount
    currency: Currency
