"""Definition files (YAML): read, check, and say every problem with file, line and field.

    description: "Q4: trade-show focus"      # required: what changed and why
    effective_from: 2026-11-01               # optional, recorded
    points: {call: 3, meeting: 10}           # activity type -> whole number >= 0
    qualification: [budget, authority, need]
    core_products: [enterprise]
    kpis:                                    # the team's own KPIs (docs/kpis.md)
      expo_appointments: {kind: result, description: "...", base: activities, where: {...}}

The file's `version` is ignored (numbers are given when a version is registered).
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import ValidationError

from kpiflow.errors import ConfigError
from kpiflow.projections.custom import check_name
from kpiflow.projections.definitions import Definition
from kpiflow.projections.yaml_places import (
    YamlFileProblems,
    data_path,
    line_of,
    read_yaml,
    render_path,
)

KEYS = ("description", "effective_from", "points", "qualification", "core_products", "kpis")


class DefinitionFileError(YamlFileProblems):
    """A definition file breaks the format; `problems` are (line or None, field, message)."""

    what = "definition file"


def load_definition_file(path: Path) -> Definition:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read definition file {path}: {exc.strerror or exc}") from None
    return parse_definition_text(text, str(path))


def parse_definition_text(text: str, source: str = "definition") -> Definition:
    data, root = read_yaml(text, source, DefinitionFileError)
    if not isinstance(data, dict):
        raise DefinitionFileError(
            source, [(None, "file", f"a definition file is a mapping of {', '.join(KEYS)}")]
        )
    data.pop("version", None)
    problems: list[tuple[int | None, str, str]] = []
    for key in data:
        if key not in KEYS:
            problems.append(
                (line_of(root, (key,)), str(key), f"unknown key; known: {', '.join(KEYS)}")
            )
    kpis = data.get("kpis")
    named = False
    if isinstance(kpis, dict):
        for name in kpis:
            try:
                check_name(str(name))
            except ValueError as exc:
                named = True
                problems.append((line_of(root, ("kpis", name)), f"kpis.{name}", str(exc)))
    if "description" not in data:
        problems.append((None, "description", "required: say what changed and why"))
    clean = {k: v for k, v in data.items() if k in KEYS}
    try:
        definition = Definition.model_validate(clean)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            if named and tuple(error["loc"]) == ("kpis",):
                continue  # the names, already reported one by one
            loc = data_path(tuple(error["loc"]), clean)
            message = re.sub(r"^Value error, ", "", error["msg"])
            if error["type"] == "missing":
                message = "required"
            elif error["type"] == "extra_forbidden":
                message = "unknown field"
            problems.append((line_of(root, loc), render_path(loc) or "file", message))
        raise DefinitionFileError(source, problems) from None
    if problems:
        raise DefinitionFileError(source, problems)
    return definition
