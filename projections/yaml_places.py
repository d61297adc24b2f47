"""Where a problem sits in a YAML file checked with pydantic: its path, as text, and its line.

Shared by the plan files (`plans/loading.py`) and the definition files (`definition_file.py`).
"""

from __future__ import annotations

from typing import Any

import yaml

Path = tuple[str | int, ...]


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
