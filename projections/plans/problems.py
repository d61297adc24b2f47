"""What is wrong with a plan file, and where: every problem carries the path inside the file."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from kpiflow.errors import ConfigError
from kpiflow.projections.yaml_places import Path, render_path

__all__ = ["Path", "Problem", "PlanError", "render_path"]


@dataclass(frozen=True)
class Problem:
    path: Path
    message: str
    line: int | None = None  # 1-based line in the YAML file, when known

    def render(self, source: str | None = None) -> str:
        where = render_path(self.path) or "plan"
        prefix = ""
        if source and self.line:
            prefix = f"{source}:{self.line}: "
        elif source:
            prefix = f"{source}: "
        elif self.line:
            prefix = f"line {self.line}: "
        return f"{prefix}{where}: {self.message}"


class PlanError(ConfigError):
    """A plan file breaks the format or the KPI Flow rules; `problems` lists every finding."""

    def __init__(self, problems: Sequence[Problem], source: str | None = None) -> None:
        self.problems = tuple(problems)
        self.source = source
        count = len(self.problems)
        name = f" {source}" if source else ""
        head = f"the plan{name} has {count} problem{'s' if count != 1 else ''}"
        super().__init__("\n".join([head, *("  " + p.render(source) for p in self.problems)]))
