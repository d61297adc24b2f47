"""The envelope every event carries."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pydantic import BaseModel, model_validator

from events.fields import MODEL_CONFIG, EventId, Id, SchemaVersion1, Str, Timestamp


class Envelope(BaseModel):
    model_config = MODEL_CONFIG

    EVENT_TYPE: ClassVar[str] = ""

    event_id: EventId
    event_type: Str
    schema_version: SchemaVersion1
    occurred_at: Timestamp
    source: Str
    rep_id: Id
    team_id: Id

    @model_validator(mode="before")
    @classmethod
    def _nulls_are_absent(cls, data: object) -> object:
        """An optional field that is null is absent; a required one then fails as missing."""
        if isinstance(data, dict):
            return {key: value for key, value in data.items() if value is not None}
        return data

    def aggregate_key(self) -> str:
        """Kafka message key: deal_id, else lead_id, else customer_id, else rep_id."""
        for name in ("deal_id", "lead_id", "customer_id"):
            value = getattr(self, name, None)
            if value:
                return value
        return self.rep_id

    @property
    def occurred(self) -> datetime:
        return self.occurred_at
