"""RawSchema makes the same event as Faust's own schema with raw key and value serializers."""

from __future__ import annotations

import asyncio

import faust
import pytest
from faust.types.tuples import Message

from kpiflow.streams.raw_schema import RawSchema


@pytest.mark.parametrize(
    ("key", "value", "headers"),
    [
        (None, b'{"event_id": "x"}', None),
        (b"deal-1", b"\xff\xfe not json", [("source", b"crm")]),
        (b"", b"", {"a": b"1"}),
        (b"k", None, None),  # a tombstone: Faust's schema gives None too
    ],
)
def test_the_event_equals_faust_s_raw_decode(key, value, headers):
    app = faust.App("raw-schema-test", broker="kafka://127.0.0.1:1", autodiscover=False)
    message = Message("t", 0, 7, 0.0, 0, headers, key, value, None)

    async def both():
        ours = await RawSchema().compile(app)(message)
        faust_s = faust.Schema(key_serializer="raw", value_serializer="raw").compile(app)
        return ours, await faust_s(message, propagate=True)

    ours, theirs = asyncio.run(both())
    assert type(ours) is type(theirs)
    assert (ours.key, ours.value, ours.headers) == (theirs.key, theirs.value, theirs.headers)
    assert ours.message is message


def test_sending_still_uses_faust_s_raw_serializers():
    schema = RawSchema()
    assert (schema.key_serializer, schema.value_serializer) == ("raw", "raw")
