"""`kpiflow import`: read an export, derive its events, validate them as `publish` does, and
publish them (or, with `dry_run`, only say what would be published)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from kpiflow.errors import ConfigError
from kpiflow.events import InvalidEvent, parse_event
from kpiflow.events.rates import ExchangeRates, configured_rates
from kpiflow.settings import Settings
from kpiflow.streams.crm_import.activities import derive_activities
from kpiflow.streams.crm_import.cells import DateReader
from kpiflow.streams.crm_import.deals import derive_deals
from kpiflow.streams.crm_import.facts import RowReader
from kpiflow.streams.crm_import.leads import derive_leads
from kpiflow.streams.crm_import.mapping import MappingBase, TeamsFile, load_mapping
from kpiflow.streams.crm_import.rows import CsvHeaderError, CsvReader, Record, RowProblem

DERIVE = {"deals": derive_deals, "activities": derive_activities, "leads": derive_leads}


@dataclass
class ImportSummary:
    kind: str
    file: str
    dry_run: bool
    rows: int = 0
    imported_rows: int = 0
    events: Counter[str] = field(default_factory=Counter)
    published: int = 0
    first: datetime | None = None
    last: datetime | None = None
    owners: set[str] = field(default_factory=set)
    teams: set[str] = field(default_factory=set)
    problems: list[RowProblem] = field(default_factory=list)

    def count(self, event: dict[str, Any], at: datetime) -> None:
        self.events[event["event_type"]] += 1
        self.owners.add(event["rep_id"])
        self.teams.add(event["team_id"])
        if self.first is None or at < self.first:
            self.first = at
        if self.last is None or at > self.last:
            self.last = at

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "file": self.file,
            "dry_run": self.dry_run,
            "rows": self.rows,
            "imported_rows": self.imported_rows,
            "rows_with_problems": len(self.problems),
            "events": dict(sorted(self.events.items())),
            "published": self.published,
            "first": self.first.isoformat() if self.first else None,
            "last": self.last.isoformat() if self.last else None,
            "owners": sorted(self.owners),
            "teams": sorted(self.teams),
            "problems": [
                {"line": p.line, "column": p.column, "reason": p.reason} for p in self.problems
            ],
        }


def count_lines(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(1 for _ in handle)


def import_export(
    settings: Settings,
    kind: str,
    file: Path,
    mapping_file: Path,
    *,
    dry_run: bool = False,
    on_line: Callable[[int], None] | None = None,
    publisher: Any = None,
) -> ImportSummary:
    """Import one export. Bad rows are reported in the summary (line, column, reason) and never
    stop the good ones; nothing is published when the mapping or the header is wrong."""
    mapping = load_mapping(mapping_file, kind)
    if not file.is_file():
        raise ConfigError(f"{file}: no such file; give the CSV export to import")
    summary = ImportSummary(kind=kind, file=str(file), dry_run=dry_run)
    zone = ZoneInfo(mapping.dates.timezone) if mapping.dates.timezone else settings.pipeline.tz
    reader = RowReader(
        mapping, DateReader(mapping.dates.order, zone), *_teams(mapping, mapping_file)
    )
    records = _records(file, mapping, summary, on_line)
    currency = settings.pipeline.currency
    rates = configured_rates(settings.pipeline)
    if not dry_run and publisher is None:
        from kpiflow.streams.producer import EventPublisher

        publisher = EventPublisher(settings)
    for item in DERIVE[kind](records, reader, currency):
        if isinstance(item, RowProblem):
            summary.problems.append(item)
            continue
        line, events = item
        checked = _validated(line, events, currency, rates)
        if isinstance(checked, RowProblem):
            summary.problems.append(checked)
            continue
        summary.imported_rows += 1
        for event, value, key, at in checked:
            summary.count(event, at)
            if publisher is not None:
                publisher.send_valid(value, key)
                summary.published += 1
    if publisher is not None:
        publisher.flush()
    summary.problems.sort(key=lambda p: p.line)
    return summary


def _validated(
    line: int, events: list[dict[str, Any]], currency: str, rates: ExchangeRates | None
) -> list[tuple[dict[str, Any], bytes, str, datetime]] | RowProblem:
    """Every event of a row passes the contract (as `publish` checks it), or the row is a
    problem and none of its events is published."""
    out = []
    for event in events:
        value = json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode()
        try:
            parsed = parse_event(value, currency, rates=rates)
        except InvalidEvent as exc:
            return RowProblem(
                line, "-", f"its {event['event_type']} event is invalid: {exc.reason}"
            )
        out.append((event, value, parsed.aggregate_key(), parsed.occurred_at))
    return out


def _records(
    file: Path, mapping: MappingBase, summary: ImportSummary, on_line: Callable[[int], None] | None
) -> list[Record]:
    """The export's good records (a repeated record id is a problem: the first row counts)."""
    with file.open("rb") as handle:
        csv_reader = CsvReader(handle, mapping.delimiter)
        try:
            header = csv_reader.read_header()
        except CsvHeaderError as exc:
            raise ConfigError(f"{file}: {exc}") from None
        _check_columns(file, header, mapping.columns_used())
        id_column = mapping.columns.id  # type: ignore[attr-defined]
        first_line: dict[str, int] = {}
        records: list[Record] = []
        done = 1
        for item in csv_reader:
            summary.rows += 1
            line = item.line
            if on_line is not None and line > done:
                on_line(line - done)
                done = line
            if isinstance(item, RowProblem):
                summary.problems.append(item)
                continue
            record_id = item.get(id_column)
            if record_id and record_id in first_line:
                summary.problems.append(
                    RowProblem(
                        line,
                        id_column,
                        f"{record_id!r} is on line {first_line[record_id]} already; the first "
                        "row counts",
                    )
                )
                continue
            if record_id:
                first_line[record_id] = line
            records.append(item)
    return records


def _check_columns(file: Path, header: list[str], used: dict[str, str]) -> None:
    missing = [(place, column) for place, column in used.items() if column not in header]
    if missing:
        lines = [f"  {place}: {column!r} is not a column of the file" for place, column in missing]
        raise ConfigError(
            "\n".join(
                [
                    f"{file}: the mapping names columns the header does not have",
                    *lines,
                    f"  the header has: {', '.join(header)}",
                ]
            )
        )


def _teams(mapping: MappingBase, mapping_file: Path) -> tuple[dict[str, str] | None, str]:
    team = mapping.team
    if not isinstance(team, TeamsFile):
        return None, ""
    path = Path(team.file)
    if not path.is_absolute():
        path = mapping_file.parent / path
    if not path.is_file():
        raise ConfigError(
            f"team.file: {path}: no such file (a path relative to the mapping file {mapping_file})"
        )
    out: dict[str, str] = {}
    problems: list[str] = []
    with path.open("rb") as handle:
        reader = CsvReader(handle, team.delimiter or mapping.delimiter)
        try:
            header = reader.read_header()
        except CsvHeaderError as exc:
            raise ConfigError(f"{path}: {exc}") from None
        _check_columns(path, header, {"team.owner": team.owner, "team.team": team.team})
        for item in reader:
            if isinstance(item, RowProblem):
                problems.append(str(item))
                continue
            owner, name = item.get(team.owner), item.get(team.team)
            if not owner or not name:
                problems.append(f"line {item.line}: an owner and a team are both needed")
            elif out.get(owner, name) != name:
                problems.append(
                    f"line {item.line}: {owner!r} is in team {out[owner]!r} and in {name!r}"
                )
            else:
                out[owner] = name
    if problems:
        raise ConfigError(
            "\n".join([f"the teams file {path} has {len(problems)} problem(s)", *problems[:20]])
        )
    return out, path.name
