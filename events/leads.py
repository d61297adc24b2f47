"""Leads: created, and assessed against a qualification checklist."""

from __future__ import annotations

from typing import Literal

from kpiflow.events.envelope import Envelope
from kpiflow.events.fields import Checklist, Id, Str


class LeadCreated(Envelope):
    EVENT_TYPE = "lead.created"

    event_type: Literal["lead.created"]
    lead_id: Id
    channel: Str


class LeadQualificationAssessed(Envelope):
    EVENT_TYPE = "lead.qualification_assessed"

    event_type: Literal["lead.qualification_assessed"]
    lead_id: Id
    checklist: Checklist
