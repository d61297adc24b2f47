"""Deterministic event ids: the same fact of the same record of the same source always gets the
same id, so a second import of an export, or a later export of the same CRM, is deduplicated by
the pipeline's own rule (a repeated `event_id` never counts twice)."""

from __future__ import annotations

import json
import uuid

# kpiflow's own namespace for imported facts (a UUID v5 of the project's name in the URL
# namespace); changing it would make every earlier import count again
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://kpiflow.dev/import")


def event_id(source: str, entity: str, record_id: str, fact: str) -> str:
    """UUID v5 over the source (`salesforce`), the entity (`deal`), the record id and the fact
    (`opened`, `stage:won`, ...), written as a JSON array (unambiguous whatever the cells hold)."""
    name = json.dumps([source, entity, record_id, fact], ensure_ascii=False)
    return str(uuid.uuid5(NAMESPACE, name))
