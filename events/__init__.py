"""The v1 event contract (docs/events.md) as frozen pydantic models."""

from kpiflow.events.errors import InvalidEvent
from kpiflow.events.registry import EVENT_TYPES, SalesEvent, parse_event, validate_event_dict

__all__ = ["EVENT_TYPES", "InvalidEvent", "SalesEvent", "parse_event", "validate_event_dict"]
