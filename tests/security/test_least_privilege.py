"""The least-privilege DDL (projections/security/users.sql) parses, and says what it should.

What can be checked here: every statement parses in ClickHouse's own parser (`EXPLAIN AST` on the
embedded engine, with the password parameters bound, hostile ones included), and the grants
follow the policy (read-only users on the kpiflow database only, no DROP, no global grants).
What cannot: applying it. The embedded engine (chdb) has no access management (CREATE USER is
refused: ACCESS_DENIED), so the users' effective rights are only checked on a ClickHouse server
(docker-compose runs docker-init.sh); see docs/operations.md.
"""

from __future__ import annotations

import re
from importlib import resources

import pytest

from kpiflow.projections.migrate import split_statements

PASSWORDS = {
    "pipeline_password": "p'; DROP USER default; --",
    "grafana_password": "g\\' OR 1=1",
    "ops_password": "o{db}",
    "coaching_password": "c'); --",
}


def statements(database: str = "kpiflow") -> list[str]:
    text = resources.files("kpiflow.projections.security").joinpath("users.sql").read_text()
    return list(split_statements(text.replace("{db}", database)))


def test_every_statement_parses(ch_store):
    parsed = statements(ch_store.database)
    assert len(parsed) >= 10
    for statement in parsed:
        ast = ch_store.client.raw_query(
            "EXPLAIN AST " + statement, parameters=PASSWORDS, fmt="TabSeparated"
        )
        assert ast.decode().strip(), statement


def test_passwords_are_bound_parameters_never_literals():
    for statement in statements():
        if statement.startswith("CREATE USER"):
            assert re.search(r"BY \{\w+_password:String\}", statement), statement
            assert "'" not in statement


def test_grants_stay_inside_the_kpiflow_database_and_never_drop():
    grants = [s for s in statements() if s.startswith("GRANT") and " ON " in s]
    assert grants
    for grant in grants:
        assert " ON kpiflow.*" in grant, grant
        assert "*.*" not in grant and not re.search(r"\bALL\b", grant.upper().split(" ON ")[0])
        assert not re.search(r"\b(DROP|TRUNCATE|SYSTEM|ACCESS|INTROSPECTION)\b", grant.upper())


@pytest.mark.parametrize("user", ["kpiflow_grafana", "kpiflow_ops", "kpiflow_grafana_coaching"])
def test_people_and_dashboards_are_read_only(user):
    (create,) = [s for s in statements() if s.startswith(f"CREATE USER IF NOT EXISTS {user} ")]
    role = "kpiflow_coach" if user.endswith("coaching") else "kpiflow_reader"
    assert "SETTINGS PROFILE kpiflow_readonly" in create and f"DEFAULT ROLE {role}" in create
    (profile,) = [s for s in statements() if s.startswith("CREATE SETTINGS PROFILE")]
    assert "readonly = 2" in profile and "max_execution_time" in profile
    reader = [
        s
        for s in statements()
        if s.startswith("GRANT") and "TO kpiflow_reader" in s and " ON " in s
    ]
    assert reader == ["GRANT SELECT ON kpiflow.* TO kpiflow_reader"]


def test_per_rep_coaching_values_are_for_the_coach_role_only():
    revoked = {
        s.split(" ON ")[1].split(" FROM ")[0]
        for s in statements()
        if s.startswith("REVOKE SELECT") and s.endswith("FROM kpiflow_reader")
    } - {"kpiflow.engine_snapshots"}
    assert revoked == {
        "kpiflow.coaching_deals",
        "kpiflow.coaching_stays",
        "kpiflow.coaching_closes",
    }
    coach = [s for s in statements() if s.startswith("GRANT") and "TO kpiflow_coach" in s]
    assert coach == ["GRANT SELECT ON kpiflow.* TO kpiflow_coach"]
    # every table and view of the migrations whose name says coaching is revoked
    from kpiflow.projections.migrate import load_migrations

    made = {
        m.group(1)
        for migration in load_migrations()
        for statement in migration.statements
        if (
            m := re.search(r"CREATE (?:TABLE|VIEW) IF NOT EXISTS \{db\}\.(coaching_\w+)", statement)
        )
    }
    assert {f"kpiflow.{name}" for name in made} == revoked


def test_the_projectors_snapshots_are_the_pipelines_alone():
    revoked = [s for s in statements() if s.startswith("REVOKE") and "engine_snapshots" in s]
    assert revoked == [
        "REVOKE SELECT ON kpiflow.engine_snapshots FROM kpiflow_reader",
        "REVOKE SELECT ON kpiflow.engine_snapshots FROM kpiflow_coach",
    ]
