"""An activity export (CRM tasks, a dialer's call log): each row is one `activity.logged`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from kpiflow.streams.crm_import.facts import RowError, RowReader, envelope, problem_of
from kpiflow.streams.crm_import.mapping import ActivitiesMapping
from kpiflow.streams.crm_import.rows import Record, RowProblem


def activity_event(record: Record, reader: RowReader) -> dict[str, Any]:
    m = reader.mapping
    assert isinstance(m, ActivitiesMapping)
    c = m.columns
    activity_id = reader.required(record, c.id, "activity id")
    owner = reader.required(record, c.owner, "owner")
    team = reader.team(record, owner, c.owner)
    cell = reader.required(record, c.type, "activity type")
    activity_type = m.activity_types.get(cell)
    if activity_type is None:
        known = ", ".join(repr(k) for k in m.activity_types)
        raise RowError(
            c.type,
            f"{cell!r} is not an activity type the mapping knows (activity_types: has {known})",
        )
    at = reader.required_moment(record, c.time, "when the activity happened")
    links = {
        field: record.get(column)
        for field, column in (("lead_id", c.lead), ("deal_id", c.deal), ("customer_id", c.account))
        if record.get(column)
    }
    return envelope(
        m,
        "activity",
        activity_id,
        "logged",
        "activity.logged",
        at,
        owner,
        team,
        activity_type=activity_type,
        direction=reader.pick(record, m.direction, "direction"),
        **links,
    )


def derive_activities(
    records: list[Record], reader: RowReader, currency: str
) -> Iterator[tuple[int, list[dict[str, Any]]] | RowProblem]:
    for record in records:
        try:
            yield record.line, [activity_event(record, reader)]
        except RowError as exc:
            yield problem_of(record, exc)
