"""Mapping files (YAML): which column of an export is which, and how to read it.

One model per export kind (`DealsMapping`, `ActivitiesMapping`, `LeadsMapping`) over common
parts: the events' `source`, the CSV `delimiter`, how to read `dates`, and where a row's `team`
comes from. A value that may come from a column or be the same for every row is a `Pick`:
`{column: NAME}` (optionally with `values:` to translate the cells) or `{value: TEXT}`.
docs/import.md has a complete example.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from kpiflow.errors import ConfigError
from kpiflow.events.activities import ACTIVITY_TYPES
from kpiflow.events.fields import STAGES
from kpiflow.projections.yaml_places import (
    YamlFileProblems,
    data_path,
    line_of,
    read_yaml,
    render_path,
)
from kpiflow.streams.crm_import.cells import FALSE_WORDS, TRUE_WORDS

OPEN_STAGES = STAGES[:5]
Stage = Literal["prospect", "qualified", "meeting", "proposal", "negotiation", "won", "lost"]
OpenStage = Literal["prospect", "qualified", "meeting", "proposal", "negotiation"]
DealKind = Literal["new_business", "upsell", "renewal"]

_STRICT = ConfigDict(extra="forbid", frozen=True)


class Pick(BaseModel):
    """A value read from a column (translated by `values` when given: a cell that is not in it
    is an error) or a constant `value`."""

    model_config = _STRICT
    column: str | None = None
    value: str | None = None
    values: dict[str, str] | None = None

    @model_validator(mode="after")
    def _one(self) -> Pick:
        if (self.column is None) == (self.value is None):
            raise ValueError(
                "give exactly one of column: (read it from a column) or value: "
                "(the same for every row)"
            )
        if self.values is not None and self.column is None:
            raise ValueError("values: translates the cells of a column; it needs column:")
        return self

    def allowed(self, choices: tuple[str, ...], what: str) -> Pick:
        """Check that every value this pick can give is one of `choices`."""
        given = [self.value] if self.value is not None else list((self.values or {}).values())
        bad = [v for v in given if v not in choices]
        if bad:
            raise ValueError(f"{bad[0]!r} is not a {what}; one of {', '.join(choices)}")
        return self


class TeamsFile(BaseModel):
    """Owner -> team from a second CSV (exports often keep teams apart), relative to the mapping
    file. `delimiter` defaults to the export's."""

    model_config = _STRICT
    file: str
    owner: str
    team: str
    delimiter: str | None = None


class Dates(BaseModel):
    model_config = _STRICT
    order: Literal["iso", "day_first", "month_first"] = "iso"
    timezone: str | None = Field(
        None, description="zone of dates without an offset; default the reporting time zone"
    )

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is None:
            return value
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r} (an IANA name such as Europe/Amsterdam)"
            ) from None
        return value


class MappingBase(BaseModel):
    model_config = _STRICT
    source: str = "csv"
    delimiter: str = ","
    dates: Dates = Dates()
    team: Pick | TeamsFile

    @field_validator("source")
    @classmethod
    def _source(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank: it names the CRM in every event id")
        return value.strip()

    @field_validator("delimiter")
    @classmethod
    def _one_char(cls, value: str) -> str:
        if len(value) != 1 or value in '"\r\n':
            raise ValueError('one character, not a quote or a line break (e.g. ",", ";", "\\t")')
        return value

    def columns_used(self) -> dict[str, str]:
        """Mapping place (`columns.owner`) -> column name, for every column the mapping reads."""
        out = {
            f"columns.{name}": column
            for name, column in self.columns.model_dump().items()  # type: ignore[attr-defined]
            if column
        }
        for name, pick in self.picks().items():
            if isinstance(pick, Pick) and pick.column:
                out[f"{name}.column"] = pick.column
        return out

    def picks(self) -> dict[str, Any]:
        return {"team": self.team}


class DealColumns(BaseModel):
    model_config = _STRICT
    id: str
    owner: str
    account: str
    stage: str
    created: str
    product: str | None = None
    amount: str | None = None
    closed: str | None = None
    close_value: str | None = None


class KindRule(BaseModel):
    """`{rule: upsell_after_won}`: an upsell when the deal's account already had a deal won
    before this one was created (in this export), else new business."""

    model_config = _STRICT
    rule: Literal["upsell_after_won"]


class DealsMapping(MappingBase):
    columns: DealColumns
    stages: dict[str, Stage]
    opened_stage: OpenStage = "prospect"
    products: dict[str, str] = {}
    kind: KindRule | Pick = Pick(value="new_business")
    currency: Pick | None = None

    @field_validator("stages")
    @classmethod
    def _some(cls, value: dict[str, str]) -> dict[str, str]:
        if not value:
            raise ValueError("map at least one CRM stage name to a v1 stage")
        return {k.strip(): v for k, v in value.items()}

    @field_validator("kind")
    @classmethod
    def _kinds(cls, value: KindRule | Pick) -> KindRule | Pick:
        if isinstance(value, Pick):
            value.allowed(("new_business", "upsell", "renewal"), "deal kind")
        return value

    def picks(self) -> dict[str, Any]:
        return {"team": self.team, "kind": self.kind, "currency": self.currency}


class ActivityColumns(BaseModel):
    model_config = _STRICT
    id: str
    type: str
    owner: str
    time: str
    lead: str | None = None
    deal: str | None = None
    account: str | None = None


class ActivitiesMapping(MappingBase):
    columns: ActivityColumns
    activity_types: dict[str, str]
    direction: Pick = Pick(value="outbound")

    @field_validator("activity_types")
    @classmethod
    def _types(cls, value: dict[str, str]) -> dict[str, str]:
        if not value:
            raise ValueError("map at least one export type to a v1 activity type")
        for name, v1 in value.items():
            if v1 not in ACTIVITY_TYPES:
                raise ValueError(
                    f"{name!r} maps to {v1!r}, not a v1 activity type; one of "
                    f"{', '.join(ACTIVITY_TYPES)}"
                )
        return {k.strip(): v for k, v in value.items()}

    @field_validator("direction")
    @classmethod
    def _direction(cls, value: Pick) -> Pick:
        return value.allowed(("outbound", "inbound"), "direction")

    def picks(self) -> dict[str, Any]:
        return {"team": self.team, "direction": self.direction}


class LeadColumns(BaseModel):
    model_config = _STRICT
    id: str
    owner: str
    created: str
    assessed: str | None = None


class LeadsMapping(MappingBase):
    columns: LeadColumns
    channel: Pick = Pick(value="")
    checklist: dict[str, str] = Field(default_factory=dict)  # criterion -> column
    yes: tuple[str, ...] = TRUE_WORDS
    no: tuple[str, ...] = FALSE_WORDS

    @field_validator("yes", "no")
    @classmethod
    def _lower(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(v.strip().lower() for v in value)

    def columns_used(self) -> dict[str, str]:
        out = super().columns_used()
        out.update({f"checklist.{name}": column for name, column in self.checklist.items()})
        return out

    def picks(self) -> dict[str, Any]:
        return {"team": self.team, "channel": self.channel}


MAPPINGS: dict[str, type[MappingBase]] = {
    "deals": DealsMapping,
    "activities": ActivitiesMapping,
    "leads": LeadsMapping,
}


class MappingFileError(YamlFileProblems):
    what = "mapping file"
    hint = "docs/import.md explains the mapping"


def load_mapping(path: Path, kind: str) -> MappingBase:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read the mapping file {path}: {exc.strerror or exc}") from None
    return parse_mapping(text, kind, str(path))


def parse_mapping(text: str, kind: str, source: str = "mapping") -> MappingBase:
    model = MAPPINGS[kind]
    data, root = read_yaml(text, source, MappingFileError)
    if not isinstance(data, dict):
        raise MappingFileError(source, [(None, "file", f"a {kind} mapping is a YAML mapping")])
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False):
            loc = _union_member_loc(tuple(error["loc"]), data)
            if loc is None:
                continue  # an error of a union member the block was not meant to be
            loc = data_path(loc, data)
            message = re.sub(r"^Value error, ", "", error["msg"])
            if error["type"] == "missing":
                message = "required"
            elif error["type"] == "extra_forbidden":
                message = "unknown field"
            elif error["type"] in ("model_type", "model_attributes_type", "dict_type"):
                message = (
                    f"must be a block such as {{column: NAME}} or {{value: TEXT}}, got "
                    f"{error['input']!r}"
                )
            elif error["type"] == "literal_error":
                message = f"{message} (got {error['input']!r})"
            problems.append(
                (line_of(root, loc) if root else None, render_path(loc) or "file", message)
            )
        raise MappingFileError(source, _one_per_place(problems)) from None


# A block that may take one of several shapes is meant as the shape whose key it has.
_SHAPE_KEYS = {"TeamsFile": "file", "KindRule": "rule"}
_TAG = re.compile(r"^(?:function-after\[.*, )?(Pick|TeamsFile|KindRule)\]?$")


def _union_member_loc(loc: tuple, data: Any) -> tuple | None:
    """Pydantic's location without the union member's tag; None when the error belongs to a
    member the block does not look like (`team: {file: ...}` is meant as a teams file)."""
    node = data
    for index, part in enumerate(loc):
        found = _TAG.match(part) if isinstance(part, str) else None
        if found and not (isinstance(node, dict) and part in node):
            member = found.group(1)
            given = node if isinstance(node, dict) else {}
            meant = next((m for m, key in _SHAPE_KEYS.items() if key in given), "Pick")
            if member != meant:
                return None
            return loc[:index] + loc[index + 1 :]
        node = node.get(part) if isinstance(node, dict) else None
    return loc


def _one_per_place(
    problems: list[tuple[int | None, str, str]],
) -> list[tuple[int | None, str, str]]:
    """A union (`team: Pick | TeamsFile`) fails once per member; keep the first per place."""
    seen: dict[str, tuple[int | None, str, str]] = {}
    for problem in problems:
        seen.setdefault(problem[1], problem)
    return list(seen.values())
