"""A quarter's KPI Flow plan as frozen pydantic models, and the plan in effect on a day.

The file format is described in `docs/plans.md`. `Plan.model_validate(data)` checks the shape
(pydantic) and then the KPI Flow rules (`rules.check_plan`); shape errors come out as pydantic's
ValidationError, rule breaks as `PlanError` with the place of each problem. Use
`projections.plans.load_plan` / `parse_plan` to get one `PlanError` for both, with line numbers.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from kpiflow.projections.plans.calendar import WEEKDAYS, Quarter, weekday_index, working_days
from kpiflow.projections.plans.problems import PlanError
from kpiflow.projections.plans.rules import apply_change, check_plan, ranked

_FROZEN = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


def _number(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"must be a number, got {value!r}")
    return value


def _id_keys(value: Any) -> Any:
    """Team and rep ids are strings; YAML turns `101:` into an int, take it back."""
    if not isinstance(value, dict):
        return value
    out = {}
    for key, item in value.items():
        if isinstance(key, bool) or not isinstance(key, str | int):
            raise ValueError(f"id {key!r} must be a string")
        key = str(key)
        if not key.strip():
            raise ValueError("an id must not be blank")
        out[key] = item
    return out


def _non_blank(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        raise ValueError("must not be blank")
    return value


Number = Annotated[float, BeforeValidator(_number)]
Text = Annotated[str, BeforeValidator(_non_blank)]


class Targets(BaseModel):
    """Targets of one focus KPI for the whole quarter.

    `all` is the organisation's target, `team` / `rep` the default for every team / rep, and
    `teams` / `reps` override the default for one id.
    """

    model_config = _FROZEN

    all: Number | None = None
    team: Number | None = None
    rep: Number | None = None
    teams: Annotated[dict[str, Number], BeforeValidator(_id_keys)] = Field(default_factory=dict)
    reps: Annotated[dict[str, Number], BeforeValidator(_id_keys)] = Field(default_factory=dict)

    def entries(self) -> list[tuple[tuple[str | int, ...], str, str, float]]:
        """(path in the file, dimension_kind, dimension, target); dimension '' = the default."""
        out: list[tuple[tuple[str | int, ...], str, str, float]] = []
        if self.all is not None:
            out.append((("all",), "all", "all", self.all))
        if self.team is not None:
            out.append((("team",), "team", "", self.team))
        out += [(("teams", k), "team", k, v) for k, v in self.teams.items()]
        if self.rep is not None:
            out.append((("rep",), "rep", "", self.rep))
        out += [(("reps", k), "rep", k, v) for k, v in self.reps.items()]
        return out

    def for_dimension(self, kind: str, dimension: str) -> float | None:
        """The target of one team, rep or `all`: the override, else the default, else None."""
        if kind == "all":
            return self.all
        if kind == "team":
            return self.teams.get(dimension, self.team)
        return self.reps.get(dimension, self.rep)

    @property
    def empty(self) -> bool:
        return not self.entries()


class TargetsPatch(BaseModel):
    """A change to targets: the fields given replace; null removes; id maps merge key by key."""

    model_config = _FROZEN

    all: Number | None = None
    team: Number | None = None
    rep: Number | None = None
    teams: Annotated[dict[str, Number | None], BeforeValidator(_id_keys)] = Field(
        default_factory=dict
    )
    reps: Annotated[dict[str, Number | None], BeforeValidator(_id_keys)] = Field(
        default_factory=dict
    )

    def apply(self, targets: Targets) -> Targets:
        update: dict[str, Any] = {}
        for name in ("all", "team", "rep"):
            if name in self.model_fields_set:
                update[name] = getattr(self, name)
        for name in ("teams", "reps"):
            merged = dict(getattr(targets, name))
            for key, value in getattr(self, name).items():
                if value is None:
                    merged.pop(key, None)
                else:
                    merged[key] = value
            update[name] = merged
        return targets.model_copy(update=update)

    def entries(self) -> list[tuple[tuple[str | int, ...], str, str, float]]:
        """The new target values this patch sets (removals left out), as `Targets.entries`."""
        values = Targets.model_construct(
            all=self.all,
            team=self.team,
            rep=self.rep,
            teams={k: v for k, v in self.teams.items() if v is not None},
            reps={k: v for k, v in self.reps.items() if v is not None},
        )
        return values.entries()


class FocusKpi(BaseModel):
    model_config = _FROZEN

    kpi: Text
    master: bool = False
    targets: Targets


class Review(BaseModel):
    """The review meeting: weekly / biweekly on a weekday, monthly on a weekday or a day number."""

    model_config = _FROZEN

    rhythm: Literal["weekly", "biweekly", "monthly"]
    day: str | int

    @model_validator(mode="after")
    def _day_fits_rhythm(self) -> Review:
        if isinstance(self.day, bool):
            raise ValueError("review.day must be a weekday name or, for monthly, a day number 1-28")
        if isinstance(self.day, int):
            if self.rhythm != "monthly":
                raise ValueError(
                    f"a {self.rhythm} review is on a weekday (mon ... sun), not day {self.day}"
                )
            if not 1 <= self.day <= 28:
                raise ValueError(
                    f"a monthly review day must be 1-28 (every month has it), not {self.day}"
                )
            return self
        weekday_index(self.day)
        return self


class WorkingDays(BaseModel):
    model_config = _FROZEN

    weekdays: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri")
    holidays: tuple[date, ...] = ()

    @field_validator("weekdays")
    @classmethod
    def _weekday_names(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("at least one weekday is a working day")
        names = [WEEKDAYS[weekday_index(v)] for v in value]
        if len(set(names)) != len(names):
            raise ValueError(f"a weekday is listed twice: {list(value)}")
        return tuple(sorted(names, key=WEEKDAYS.index))

    @property
    def indexes(self) -> tuple[int, ...]:
        return tuple(WEEKDAYS.index(n) for n in self.weekdays)


class Scope(BaseModel):
    """The teams the plan is for; without a scope it is for every team."""

    model_config = _FROZEN

    teams: tuple[Text, ...] = Field(min_length=1)


class Change(BaseModel):
    """A dated mid-quarter change. Applied in this order: remove, add, master, targets."""

    model_config = _FROZEN

    on: date = Field(alias="date")
    reason: Text
    targets: dict[str, TargetsPatch] = Field(default_factory=dict)
    add_focus: tuple[FocusKpi, ...] = ()
    remove_focus: tuple[Text, ...] = ()
    master: Text | None = None
    definition_version: int | None = Field(None, ge=1)

    @property
    def changes_nothing(self) -> bool:
        return not (
            self.targets
            or self.add_focus
            or self.remove_focus
            or self.master
            or self.definition_version
        )


class EffectivePlan(BaseModel):
    """The plan in effect from `valid_from` on: focus KPIs in rank order (the Master KPI first)."""

    model_config = _FROZEN

    quarter: str
    valid_from: date
    focus: tuple[FocusKpi, ...]
    scope_teams: tuple[str, ...]
    working_days: tuple[date, ...]
    review: Review
    reward: str
    definition_version: int | None
    changes: tuple[Change, ...]  # the changes applied, oldest first

    @property
    def quarter_start(self) -> date:
        return Quarter.parse(self.quarter).start

    @property
    def master(self) -> FocusKpi:
        return self.focus[0]

    def rank(self, kpi: str) -> int:
        """1 for the Master KPI, then 2, 3 in the order the KPIs joined the focus."""
        return next(i for i, f in enumerate(self.focus, 1) if f.kpi == kpi)


class Plan(BaseModel):
    """One quarter's plan file."""

    model_config = _FROZEN

    quarter: str
    scope: Scope | None = None
    focus: tuple[FocusKpi, ...]
    review: Review
    reward: Text
    working_days: WorkingDays = Field(default_factory=WorkingDays)
    definition_version: int | None = Field(None, ge=1)
    changes: tuple[Change, ...] = ()

    @field_validator("quarter", mode="before")
    @classmethod
    def _quarter(cls, value: Any) -> str:
        return str(Quarter.parse(value))

    @model_validator(mode="after")
    def _kpi_flow_rules(self) -> Plan:
        problems = check_plan(self)
        if problems:
            raise PlanError(problems)  # not a ValueError: pydantic lets it through unchanged
        return self

    @property
    def period(self) -> Quarter:
        return Quarter.parse(self.quarter)

    @property
    def scope_teams(self) -> tuple[str, ...]:
        return self.scope.teams if self.scope else ()

    def working_dates(self) -> tuple[date, ...]:
        return working_days(self.period, self.working_days.indexes, self.working_days.holidays)

    def valid_froms(self) -> tuple[date, ...]:
        """The quarter's first day, then each change's date: where the plan in effect changes."""
        return (self.period.start, *(c.on for c in self.changes))

    def at(self, day: date) -> EffectivePlan:
        """The plan in effect on `day`: the file's plan with every change dated on or before it.

        Days before the quarter give the plan as written, days after it the final plan.
        """
        focus = ranked(self.focus)
        version = self.definition_version
        applied = []
        for change in self.changes:
            if change.on > day:
                break
            focus, problems = apply_change(
                focus, change, ("changes", len(applied)), self.scope_teams
            )
            if problems:  # check_plan has refused such a plan already; defensive
                raise PlanError(problems)
            version = change.definition_version or version
            applied.append(change)
        return EffectivePlan(
            quarter=self.quarter,
            valid_from=applied[-1].on if applied else self.period.start,
            focus=focus,
            scope_teams=self.scope_teams,
            working_days=self.working_dates(),
            review=self.review,
            reward=self.reward,
            definition_version=version,
            changes=tuple(applied),
        )

    def snapshots(self) -> list[EffectivePlan]:
        """The plan in effect from each of `valid_froms()`."""
        return [self.at(day) for day in self.valid_froms()]

    def canonical_json(self) -> str:
        """The plan as sorted JSON: equal for equal files, whatever their key order.

        Only what the file sets is kept (`exclude_unset`), so a target patch's `null` (remove)
        stays different from a field left out (keep), and the JSON loads back to the same plan.
        """
        body = self.model_dump(mode="json", by_alias=True, exclude_unset=True)
        return json.dumps(body, sort_keys=True, separators=(",", ":"))
