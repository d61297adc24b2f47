"""Plan files: YAML text -> `Plan`, or one `PlanError` listing every problem with its line."""

from __future__ import annotations

import re
from pathlib import Path as FilePath
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from kpiflow.projections.plans.model import (
    Change,
    FocusKpi,
    Plan,
    Review,
    Scope,
    Targets,
    TargetsPatch,
    WorkingDays,
)
from kpiflow.projections.plans.problems import Path, PlanError, Problem
from kpiflow.projections.yaml_places import data_path, line_of

# Which model sits at a place of the file (indexes and ids written as *), for "unknown field".
_MODELS: dict[str, type[BaseModel]] = {
    "": Plan,
    "scope": Scope,
    "focus[*]": FocusKpi,
    "focus[*].targets": Targets,
    "review": Review,
    "working_days": WorkingDays,
    "changes[*]": Change,
    "changes[*].targets.*": TargetsPatch,
    "changes[*].add_focus[*]": FocusKpi,
    "changes[*].add_focus[*].targets": Targets,
}


def load_plan(path: str | FilePath) -> Plan:
    """Read and check a plan file; PlanError names file, line and field of each problem."""
    file = FilePath(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise PlanError(
            [Problem((), f"cannot read the plan file: {exc.strerror or exc}")], str(path)
        ) from None
    return parse_plan_text(text, str(path))


def parse_plan_text(text: str, source: str | None = None) -> Plan:
    try:
        data = yaml.safe_load(text)
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        raise PlanError([Problem((), f"not valid YAML: {exc}", line)], source) from None
    return parse_plan(data, source, root)


def parse_plan(data: Any, source: str | None = None, root: yaml.Node | None = None) -> Plan:
    """Validate already-parsed plan data (a dict as from YAML or JSON)."""
    if data is None:
        raise PlanError(
            [Problem((), "the plan is empty; see docs/plans.md for the format")], source
        )
    if not isinstance(data, dict):
        raise PlanError(
            [Problem((), "a plan is a mapping of quarter, focus, review, reward, ...")], source
        )
    try:
        return Plan.model_validate(data)
    except ValidationError as exc:
        problems = [_from_pydantic(error, data) for error in exc.errors()]
    except PlanError as exc:
        problems = list(exc.problems)
    raise PlanError([_with_line(p, root) for p in problems], source) from None


def _from_pydantic(error: Any, data: Any) -> Problem:
    path = data_path(tuple(error["loc"]), data)
    kind = error["type"]
    message = re.sub(r"^(Value error|Assertion failed), ", "", error["msg"])
    if kind == "missing":
        message = "missing; this field is required (see docs/plans.md)"
    elif kind == "extra_forbidden":
        model = _MODELS.get(_pattern(path[:-1]))
        known = f"; the fields here are: {', '.join(_field_names(model))}" if model else ""
        message = f"unknown field {path[-1]!r}{known}"
    elif "input" in error and kind not in ("value_error", "assertion_error"):
        message = f"{message} (got {error['input']!r})"
    return Problem(path, message)


def _field_names(model: type[BaseModel]) -> list[str]:
    return [field.alias or name for name, field in model.model_fields.items()]


def _pattern(path: Path) -> str:
    """("changes", 0, "targets", "won_deals") -> "changes[*].targets.*" (a key of _MODELS)."""
    out = ""
    for i, part in enumerate(path):
        if isinstance(part, int):
            out += "[*]"
        elif i == 3 and path[:1] == ("changes",) and path[2] == "targets":
            out += ".*"  # a KPI name under a change's targets
        else:
            out += f".{part}" if out else part
    return out


def _with_line(problem: Problem, root: yaml.Node | None) -> Problem:
    if root is None or problem.line is not None:
        return problem
    return Problem(problem.path, problem.message, line_of(root, problem.path))
