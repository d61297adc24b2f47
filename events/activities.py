"""Sales actions a rep logs (calls, e-mails, meetings, ...)."""

from __future__ import annotations

from typing import Literal

from kpiflow.events.envelope import Envelope
from kpiflow.events.fields import Id

ActivityType = Literal[
    "call", "voicemail", "email", "linkedin_message", "meeting", "intake", "demo"
]
ACTIVITY_TYPES: tuple[str, ...] = ActivityType.__args__  # type: ignore[attr-defined]


class ActivityLogged(Envelope):
    EVENT_TYPE = "activity.logged"

    event_type: Literal["activity.logged"]
    activity_type: ActivityType
    direction: Literal["outbound", "inbound"] = "outbound"
    lead_id: Id | None = None
    deal_id: Id | None = None
    customer_id: Id | None = None
