"""The schema of kpiflow's topics: the message's bytes are the event's key and value, unchanged.

kpiflow's topics carry raw bytes (events are validated by triage, not by Faust's codecs). Faust's
schema decodes every consumed message through its serializer registry (codec lookup, the "raw"
codec, a check for a Faust model) before it makes the event: measured here about a sixth of
Faust's cost per message up to the agent. For raw key and value that work returns the bytes as
they came, so this schema makes the event from them directly. Sending (the dead letters) still
goes through Faust's "raw" serializers.
"""

from __future__ import annotations

from typing import Any

import faust


class RawSchema(faust.Schema):
    def __init__(self) -> None:
        super().__init__(key_serializer="raw", value_serializer="raw")

    def compile(self, app: Any, **kwargs: Any) -> Any:
        """The decode function of a channel: no codec, no model, no decode error possible."""
        event_class = app.conf.Event  # read once, not per message

        async def decode(message: Any, *, propagate: bool = False) -> Any:
            return event_class(app, message.key, message.value, message.headers, message)

        return decode
