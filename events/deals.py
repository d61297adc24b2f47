"""Deals: opened, moved through stages, re-priced."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from kpiflow.events.envelope import Envelope
from kpiflow.events.fields import Amount, Currency, Id, Stage, Str

DealKind = Literal["new_business", "upsell", "renewal"]

# A deal that reached one of these never moves again (events.md, Deals). The rule's one owner:
# ingest triage, the raw log's terminal index and the KPI engine all ask these two functions.
TERMINAL_STAGES: tuple[str, ...] = ("won", "lost")


def is_terminal(stage: str | None) -> bool:
    return stage in TERMINAL_STAGES


def first_terminal(
    candidate: tuple[datetime, int, int], known: tuple[datetime, int, int] | None
) -> bool:
    """Whether a terminal stage change at `candidate` = (occurred_at, partition, offset) is the
    deal's first one rather than `known`: the earlier `occurred_at`; on a tie, the one that
    arrived first (lower partition, then offset; within a partition, arrival order)."""
    return known is None or candidate < known


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
