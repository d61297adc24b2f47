"""Mapping files: every problem with its line and place, before any row is read."""

from __future__ import annotations

import pytest

from kpiflow.errors import ConfigError
from kpiflow.settings import Settings
from kpiflow.streams.crm_import.mapping import MappingFileError, parse_mapping
from kpiflow.streams.crm_import.run import import_export
from tests.streams.crm_import.import_cases import DEALS, DEALS_MAPPING

GOOD = DEALS_MAPPING.read_text()


def problems(text: str, kind: str = "deals") -> list[tuple]:
    with pytest.raises(MappingFileError) as caught:
        parse_mapping(text, kind, "m.yaml")
    return caught.value.problems


def test_the_example_mappings_are_valid():
    for kind, name in (
        ("deals", "sales_pipeline"),
        ("activities", "activities"),
        ("leads", "leads"),
    ):
        parse_mapping((DEALS.parent / f"{name}.mapping.yaml").read_text(), kind)


def test_unknown_keys_bad_stages_and_missing_columns_name_line_and_place():
    text = (
        GOOD.replace("  Won: won\n", "  Won: closed_won\n")
        .replace("opened_stage: qualified", "opened_stage: qualified\ncolour: blue")
        .replace("  stage: deal_stage\n", "")
    )
    found = problems(text)
    places = {place: (line, message) for line, place, message in found}
    won_line = text.splitlines().index("  Won: closed_won") + 1
    assert places["stages.Won"][0] == won_line and "closed_won" in places["stages.Won"][1]
    assert places["colour"][1] == "unknown field"
    assert places["columns.stage"][1] == "required"


@pytest.mark.parametrize(
    ("old", "new", "place", "says"),
    [
        ("kind: {rule: upsell_after_won}", "kind: {value: big}", "kind", "not a deal kind"),
        ("currency: {value: EUR}", "currency: {value: EUR, column: c}", "currency", "exactly one"),
        ("timezone: America/New_York", "timezone: Mars/Olympus", "dates.timezone", "unknown time"),
        ("order: month_first", "order: us", "dates.order", "got 'us'"),
        ("kind: {rule: upsell_after_won}", "kind: {rule: always}", "kind.rule", "always"),
        ("currency: {value: EUR}", "currency: EUR", "currency", "{column: NAME} or {value"),
        ("  owner: sales_agent\n  team: manager\n", "", "team.owner", "required"),
        ("source: crm-export", "source: ' '", "source", "must not be blank"),
    ],
)
def test_bad_values(old, new, place, says):
    found = problems(GOOD.replace(old, new))
    assert len({p for _l, p, _m in found}) == len(found), found  # one problem per place
    assert any(p == place and says in m for _line, p, m in found), found


def test_the_delimiter_is_one_character():
    found = problems(GOOD + 'delimiter: ";;"\n')
    assert [(p, "one character" in m) for _l, p, m in found] == [("delimiter", True)]


def test_a_column_the_header_lacks_stops_before_any_row(tmp_path):
    mapping = tmp_path / "m.yaml"
    mapping.write_text(GOOD.replace("close_value: close_value", "close_value: value"))
    (tmp_path / "sales_teams.csv").write_text((DEALS.parent / "sales_teams.csv").read_text())
    with pytest.raises(ConfigError, match=r"columns.close_value: 'value' is not a column"):
        import_export(Settings(strict=False), "deals", DEALS, mapping, dry_run=True)


def test_a_missing_teams_file_says_where_it_was_looked_for(tmp_path):
    mapping = tmp_path / "m.yaml"
    mapping.write_text(GOOD)
    with pytest.raises(ConfigError, match="relative to the mapping file"):
        import_export(Settings(strict=False), "deals", DEALS, mapping, dry_run=True)
