"""Where a problem sits in a YAML file checked with pydantic: its path, as text, and its line.

Shared by the plan files (`plans/loading.py`) and the definition files (`definition_file.py`).
"""

from __future__ import annotations

from typing import Any

import yaml

from kpiflow.errors import ConfigError

Path = tuple[str | int, ...]
Problem = tuple[int | None, str, str]  # (line or None, place, message)


class YamlFileProblems(ConfigError):
    """A YAML file breaks its format: every problem with file, line and place. Subclasses say
    what kind of file (`what`) and where its format is explained (`hint`)."""

    what = "YAML file"
    hint = ""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: p[0] or 0)
        count = len(self.problems)
        lines = [
            f"  {source}:{line}: {place}: {message}" if line else f"  {source}: {place}: {message}"
            for line, place, message in self.problems
        ]
        head = f"the {self.what} {source} has {count} problem{'s' if count != 1 else ''}"
        super().__init__("\n".join([head, *lines, *([f"  ({self.hint})"] if self.hint else [])]))


def render_path(path: Path) -> str:
    """`("focus", 1, "targets", "rep")` -> `focus[1].targets.rep`."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def data_path(loc: tuple, data: Any) -> Path:
    """Pydantic's location, minus the type tags it adds inside unions and validators."""
    out: list[str | int] = []
    node = data
    for part in loc:
        if isinstance(node, dict):
            key = part if part in node else str(part) if str(part) in node else None
            out.append(part if key is None else key)
            if key is None:
                break
            node = node[key]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            out.append(part)
            node = node[part]
        else:
            break
    return tuple(out)


def line_of(root: yaml.Node, path: Path) -> int:
    """1-based line of the deepest node of `path` found in the composed YAML (the root's line
    when none is)."""
    node = root
    line = node.start_mark.line + 1
    for part in path:
        child = _child(node, part)
        if child is None:
            break
        node, line = child
    return line


def _child(node: yaml.Node, part: str | int) -> tuple[yaml.Node, int] | None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if key.value == str(part):
                # point at the key's line: for nested blocks the value starts on the next line
                return value, key.start_mark.line + 1
    if (
        isinstance(node, yaml.SequenceNode)
        and isinstance(part, int)
        and 0 <= part < len(node.value)
    ):
        item = node.value[part]
        return item, item.start_mark.line + 1
    return None


def read_yaml(
    text: str, source: str, error: type[YamlFileProblems]
) -> tuple[Any, yaml.Node | None]:
    """The data and the composed nodes (for line numbers) of a YAML text; not valid YAML is
    `error` with the line of the problem."""
    try:
        return yaml.safe_load(text), yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise error(
            source, [(mark.line + 1 if mark else None, "file", f"not valid YAML: {exc}")]
        ) from None
