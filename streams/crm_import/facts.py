"""What every kind of export shares: the row's cells read as the mapping says (id, owner, team,
dates, picks) and the envelope of the events a row proves."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from kpiflow.streams.crm_import.cells import CellError, DateReader
from kpiflow.streams.crm_import.event_ids import event_id
from kpiflow.streams.crm_import.mapping import MappingBase, Pick, TeamsFile
from kpiflow.streams.crm_import.rows import Record, RowProblem

T = TypeVar("T")


class RowError(Exception):
    """Raised while reading a row; becomes its `RowProblem`."""

    def __init__(self, column: str, reason: str) -> None:
        super().__init__(reason)
        self.column = column
        self.reason = reason


class RowReader:
    """The cells of one export's rows, read as its mapping says."""

    def __init__(
        self, mapping: MappingBase, dates: DateReader, teams: dict[str, str] | None, teams_name: str
    ) -> None:
        self.mapping = mapping
        self.dates = dates
        self.teams = teams
        self.teams_name = teams_name

    def required(self, record: Record, column: str, what: str) -> str:
        value = record.get(column)
        if not value:
            raise RowError(column, f"empty; every row needs its {what}")
        return value

    def moment(self, record: Record, column: str | None) -> datetime | None:
        """The date in `column` (None when the cell is empty or the mapping names no column)."""
        text = record.get(column)
        if not text:
            return None
        return self.read(column or "-", lambda: self.dates.moment(text))

    def required_moment(self, record: Record, column: str, what: str) -> datetime:
        moment = self.moment(record, column)
        if moment is None:
            raise RowError(column, f"empty; the export does not say {what}")
        return moment

    def read(self, column: str, reader: Callable[[], T]) -> T:
        try:
            return reader()
        except CellError as exc:
            raise RowError(column, str(exc)) from None

    def pick(self, record: Record, pick: Pick, what: str, *, required: bool = True) -> str:
        if pick.value is not None:
            return pick.value
        assert pick.column is not None
        cell = record.get(pick.column)
        if pick.values is not None:
            if cell in pick.values:
                return pick.values[cell]
            if not cell and not required:
                return ""
            known = ", ".join(repr(k) for k in pick.values) or "none"
            raise RowError(pick.column, f"{cell!r} is not a {what} the mapping knows ({known})")
        if required and not cell:
            raise RowError(pick.column, f"empty; every row needs its {what}")
        return cell

    def team(self, record: Record, owner: str, owner_column: str) -> str:
        team = self.mapping.team
        if isinstance(team, TeamsFile):
            assert self.teams is not None
            found = self.teams.get(owner)
            if not found:
                raise RowError(owner_column, f"{owner!r} has no team in {self.teams_name}")
            return found
        return self.pick(record, team, "team")


def envelope(
    mapping: MappingBase,
    entity: str,
    record_id: str,
    fact: str,
    event_type: str,
    at: datetime,
    rep: str,
    team: str,
    **fields: Any,
) -> dict[str, Any]:
    return {
        "event_id": event_id(mapping.source, entity, record_id, fact),
        "event_type": event_type,
        "schema_version": 1,
        "occurred_at": at.isoformat(timespec="seconds" if not at.microsecond else "microseconds"),
        "source": mapping.source,
        "rep_id": rep,
        "team_id": team,
        **fields,
    }


def problem_of(record: Record, error: RowError) -> RowProblem:
    return RowProblem(record.line, error.column, error.reason)
