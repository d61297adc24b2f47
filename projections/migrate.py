"""Versioned schema migrations, applied automatically and in order, on chdb and on a server.

Each file `migrations/NNNN_name.sql` holds statements separated by `;` at line ends, written with
`{db}` for the database. Applied versions are recorded in `schema_migrations`; a migration never
changes once released (add a new file instead).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]


def split_statements(text: str) -> tuple[str, ...]:
    body = "\n".join(line for line in text.splitlines() if not line.strip().startswith("--"))
    return tuple(s.strip() for s in re.split(r";\s*(?:\n|$)", body) if s.strip())


def load_migrations() -> list[Migration]:
    out = []
    for entry in resources.files("kpiflow.projections.migrations").iterdir():
        match = _NAME.match(entry.name)
        if match:
            out.append(Migration(int(match[1]), match[2], split_statements(entry.read_text())))
    return sorted(out, key=lambda m: m.version)


def apply_migrations(store) -> list[int]:
    """Apply the migrations that are missing; returns the versions applied now."""
    store.command(
        "CREATE TABLE IF NOT EXISTS {db}.schema_migrations "
        "(version UInt32, name String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3)) "
        "ENGINE = ReplacingMergeTree ORDER BY version"
    )
    done = {
        row["version"] for row in store.rows("SELECT version FROM {db}.schema_migrations FINAL")
    }
    applied = []
    for migration in load_migrations():
        if migration.version in done:
            continue
        for statement in migration.statements:
            store.command(statement)
        store.insert(
            "schema_migrations", [[migration.version, migration.name]], ["version", "name"]
        )
        applied.append(migration.version)
    return applied
