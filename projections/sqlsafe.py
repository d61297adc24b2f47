"""Identifiers that go into SQL text are checked here; every value is a bound parameter."""

from __future__ import annotations

import re

from kpiflow.errors import ConfigError

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def ident(name: str) -> str:
    """Return `name` if it is a plain SQL identifier, else raise ConfigError."""
    if not isinstance(name, str) or not _IDENT.match(name):
        raise ConfigError(
            f"{name!r} is not a valid ClickHouse identifier (letters, digits, _ only)"
        )
    return name


def render(template: str, database: str) -> str:
    """Put the checked database name into a statement written with `{db}` placeholders."""
    return template.replace("{db}", ident(database))
