"""Deterministic event ids: the same fact of the same record of the same source always gets the
same id, so a second import of an export, or a later export of the same CRM, is deduplicated by
the pipeline's own rule (a repeated `event_id` never counts twice)."""

from __future__ import annotations

import hashlib
import uuid

# kpiflow's own namespace for imported facts (a UUID v5 of the project's name in the URL
# namespace); changing it would make every earlier import count again
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://kpiflow.dev/import")
_PREFIX = NAMESPACE.bytes


def id_name(source: str, entity: str, record_id: str, fact: str) -> str:
    """The UUID v5 name: each part prefixed by its length, so no two tuples share a name
    whatever the cells hold."""
    return (
        f"{len(source)}:{source}{len(entity)}:{entity}{len(record_id)}:{record_id}"
        f"{len(fact)}:{fact}"
    )


def event_id(source: str, entity: str, record_id: str, fact: str) -> str:
    """UUID v5 (RFC 9562) in kpiflow's namespace over the source (`salesforce`), the entity
    (`deal`), the record id and the fact (`opened`, `stage:won`, ...); equal to
    `str(uuid.uuid5(NAMESPACE, id_name(...)))`, written out because imports make millions."""
    digest = bytearray(
        hashlib.sha1(_PREFIX + id_name(source, entity, record_id, fact).encode()).digest()[:16]
    )
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # the RFC variant
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
