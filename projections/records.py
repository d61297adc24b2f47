"""The flat record the KPI engine reads: one accepted event, as stored in the raw log.

Both paths build these: the live projector from raw-log rows of the latest micro-batches, the
bulk rebuild from the whole raw log, tests from lists of events. Absent optional fields are ''.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from kpiflow.events import SalesEvent


@dataclass(slots=True)
class EventRecord:
    """Treated as immutable (never mutated after construction). Not `frozen=True` on purpose:
    a frozen dataclass costs about 5x more to build, and a rebuild builds millions of these."""

    event_id: str
    event_type: str
    occurred_at: datetime  # timezone-aware
    rep_id: str
    team_id: str
    seq: int = 0  # arrival order: ties of one deal or lead with equal occurred_at go by seq
    lead_id: str = ""
    deal_id: str = ""
    customer_id: str = ""
    activity_type: str = ""
    direction: str = ""
    checklist: dict[str, bool] = field(default_factory=dict)
    deal_kind: str = ""
    product: str = ""
    amount: Decimal | None = None
    stage: str = ""
    from_stage: str = ""
    to_stage: str = ""
    source: str = ""  # read by custom KPI filters (an activity's or a deal's source)
    channel: str = ""  # lead.created's channel (custom KPI filters: lead.channel)
    currency: str = ""  # of the amount; another than the reporting one is converted by the engine


def record_from_event(event: SalesEvent, seq: int = 0) -> EventRecord:
    """A validated event to the engine's record (used by tests and the live path)."""
    get = event.__dict__.get
    return EventRecord(
        event_id=event.event_id,
        event_type=event.event_type,
        occurred_at=event.occurred_at,
        rep_id=event.rep_id,
        team_id=event.team_id,
        seq=seq,
        lead_id=get("lead_id") or "",
        deal_id=get("deal_id") or "",
        customer_id=get("customer_id") or "",
        activity_type=get("activity_type") or "",
        direction=get("direction") or "",
        checklist=dict(get("checklist") or {}),
        deal_kind=get("deal_kind") or "",
        product=get("product") or "",
        amount=get("amount"),
        stage=get("stage") or "",
        from_stage=get("from_stage") or "",
        to_stage=get("to_stage") or "",
        source=event.source,
        channel=get("channel") or "",
        currency=get("currency") or "",
    )
