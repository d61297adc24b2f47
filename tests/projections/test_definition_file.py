"""Definition files: every problem at once, with its line and field."""

from __future__ import annotations

import pytest

from kpiflow.projections.definition_file import DefinitionFileError, parse_definition_text

BAD = """\
description: "Q4 focus"
colour: blue
kpis:
  expo:
    kind: result
    description: "meetings with expo leads"
    base: activities
    where:
      activity_type: [meeting, fax]
  won_deals:
    kind: result
    description: "x"
    base: activities
  ratio:
    kind: result
    description: "r"
    base: close_rate
  extra:
    kind: result
    description: "e"
    base: activities
    colour: red
"""


def test_every_problem_with_its_line_and_field():
    with pytest.raises(DefinitionFileError) as caught:
        parse_definition_text(BAD, "focus.yaml")
    found = {(line, field) for line, field, _ in caught.value.problems}
    assert found == {
        (2, "colour"),
        (4, "kpis.expo"),
        (10, "kpis.won_deals"),
        (14, "kpis.ratio"),
        (22, "kpis.extra.colour"),
    }
    text = str(caught.value)
    assert "focus.yaml:4: kpis.expo: where.activity_type: 'fax' is not one of" in text
    assert "focus.yaml:10: kpis.won_deals: 'won_deals' is a catalog KPI's name" in text
    assert "focus.yaml:22: kpis.extra.colour: unknown field" in text


def test_a_valid_file():
    definition = parse_definition_text(
        'description: "expo"\nkpis:\n  expo:\n    kind: result\n    description: "m"\n'
        "    base: activities\n"
    )
    assert list(definition.kpis) == ["expo"]


def test_check_as_json(tmp_path):
    import json
    import os
    import subprocess
    import sys

    good = tmp_path / "good.yaml"
    good.write_text('description: "v2"\npoints: {call: 4}\n')
    bad = tmp_path / "bad.yaml"
    bad.write_text('description: "v2"\npoints: {call: -1}\ncolour: red\n')
    env = {k: v for k, v in os.environ.items() if k != "KPIFLOW_TEST_CHDB_DSN"}

    def run(path):
        done = subprocess.run(
            [sys.executable, "-m", "kpiflow.cli", "definitions", "check", str(path), "--json"],
            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60,
        )  # fmt: skip
        return done.returncode, json.loads(done.stdout)

    code, doc = run(good)
    assert code == 0 and doc["ok"] and doc["definition"]["points"]["call"] == 4
    code, doc = run(bad)
    assert code == 1 and not doc["ok"]
    assert {(p["field"], p["line"]) for p in doc["problems"]} >= {("colour", 3)}
