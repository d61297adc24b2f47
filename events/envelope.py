"""The envelope every event carries."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, model_validator

from kpiflow.events.fields import MODEL_CONFIG, EventId, Id, SchemaVersion1, Str, Timestamp

KEY_FIELDS = ("deal_id", "lead_id", "customer_id", "rep_id")


def aggregate_key(payload: dict) -> str:
    """The message key of an event (validated model fields or a wire payload)."""
    for name in KEY_FIELDS:
        value = payload.get(name)
        if isinstance(value, str) and value:
            return value
    return ""


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
        if isinstance(data, dict) and None in data.values():  # a JSON value equals None
            return {key: value for key, value in data.items() if value is not None}
        return data

    def aggregate_key(self) -> str:
        """Kafka message key: deal_id, else lead_id, else customer_id, else rep_id."""
        return aggregate_key(self.__dict__)
