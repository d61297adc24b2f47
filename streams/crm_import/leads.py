"""A lead export: `lead.created` at the created date, and a `lead.qualification_assessed` with the
checklist when the row answers any qualification column (at the `assessed` date, else the
created date). An empty answer leaves its criterion out (absent is not true)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from kpiflow.streams.crm_import.cells import yes_no
from kpiflow.streams.crm_import.facts import RowError, RowReader, envelope, problem_of
from kpiflow.streams.crm_import.mapping import LeadsMapping
from kpiflow.streams.crm_import.rows import Record, RowProblem


def lead_events(record: Record, reader: RowReader) -> list[dict[str, Any]]:
    m = reader.mapping
    assert isinstance(m, LeadsMapping)
    c = m.columns
    lead_id = reader.required(record, c.id, "lead id")
    owner = reader.required(record, c.owner, "owner")
    team = reader.team(record, owner, c.owner)
    created = reader.required_moment(record, c.created, "when the lead was created")
    channel = reader.pick(record, m.channel, "channel", required=False)
    checklist: dict[str, bool] = {}
    for criterion, column in m.checklist.items():
        text = record.get(column)
        answer = reader.read(column, lambda text=text: yes_no(text, m.yes, m.no))
        if answer is not None:
            checklist[criterion] = answer
    out = [
        envelope(
            m,
            "lead",
            lead_id,
            "created",
            "lead.created",
            created,
            owner,
            team,
            lead_id=lead_id,
            channel=channel,
        )
    ]
    if checklist:
        assessed = reader.moment(record, c.assessed) or created
        if assessed < created:
            raise RowError(c.assessed or "-", "assessed before the lead was created")
        fact = "assessed:" + json.dumps(checklist, sort_keys=True)
        out.append(
            envelope(
                m,
                "lead",
                lead_id,
                fact,
                "lead.qualification_assessed",
                assessed,
                owner,
                team,
                lead_id=lead_id,
                checklist=checklist,
            )
        )
    return out


def derive_leads(
    records: list[Record], reader: RowReader, currency: str
) -> Iterator[tuple[int, list[dict[str, Any]]] | RowProblem]:
    for record in records:
        try:
            yield record.line, lead_events(record, reader)
        except RowError as exc:
            yield problem_of(record, exc)
