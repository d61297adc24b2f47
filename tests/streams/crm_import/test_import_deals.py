"""A deal export to events, without Kafka: what each row proves, the hand-computed KPIs of the
example, ids that make a second import (and a later export) add only new facts, bad rows."""

from __future__ import annotations

import pytest

from kpiflow.settings import Settings
from kpiflow.streams.crm_import.run import import_export
from tests.streams.crm_import.import_cases import (
    APRIL,
    CLOSE_RATE,
    DEALS,
    DEALS_MAPPING,
    LATER_NEW_EVENTS,
    NEW_BUSINESS_VALUE,
    PIPELINE,
    TEAM_WON_VALUE_MARCH,
    UPSELLS,
    VELOCITY,
    WON_DEALS,
    WON_VALUE,
    kpi_rows,
    later_export,
    month_values,
)


class Collect:
    """Stands where the Kafka producer would (these tests check derivation, not transport)."""

    def __init__(self) -> None:
        self.events: list[bytes] = []
        self.keys: list[str] = []

    def send_valid(self, value: bytes, key: str) -> None:
        self.events.append(value)
        self.keys.append(key)

    def flush(self) -> None:
        pass


def run(file, mapping=DEALS_MAPPING, kind="deals"):
    import json

    sink = Collect()
    summary = import_export(Settings(strict=False), kind, file, mapping, publisher=sink)
    return summary, [json.loads(v) for v in sink.events], sink.keys


def approx(values: dict[str, float]) -> dict:
    return {k: pytest.approx(v, rel=1e-9) for k, v in values.items()}


def test_the_example_export_gives_the_hand_computed_kpis():
    summary, events, keys = run(DEALS)
    assert (summary.rows, summary.imported_rows, summary.problems) == (8, 8, [])
    assert dict(summary.events) == {
        "deal.opened": 8,
        "deal.stage_changed": 6,
        "deal.amount_changed": 3,  # OPP-001, OPP-004, OPP-007 closed above their amount
    }
    assert keys == [e["deal_id"] for e in events]
    rows = kpi_rows(events)
    assert month_values(rows, "won_deals") == WON_DEALS
    assert month_values(rows, "won_value") == WON_VALUE
    assert month_values(rows, "close_rate") == approx(CLOSE_RATE)
    assert month_values(rows, "deal_velocity_days") == approx(VELOCITY)
    assert month_values(rows, "pipeline_value") == PIPELINE
    assert month_values(rows, "new_business_value") == NEW_BUSINESS_VALUE
    assert month_values(rows, "upsells") == UPSELLS
    team_march = {
        dim: value
        for (kpi, grain, period, kind, dim), value in rows.items()
        if (kpi, grain, period, kind) == ("won_value", "month", "2026-03-01", "team")
    }
    assert team_march == TEAM_WON_VALUE_MARCH
    assert summary.owners == {"Ana Ruiz", "Ben Okafor", "Cleo Park"}
    assert summary.teams == {"Mara Lind", "Tomas Berg"}


def test_what_one_row_proves():
    _summary, events, _keys = run(DEALS)
    opp3 = [e for e in events if e["deal_id"] == "OPP-003"]
    opened, lost = opp3
    assert opened["event_type"] == "deal.opened"
    assert opened["occurred_at"] == "2026-01-10T00:00:00-05:00"
    assert (opened["stage"], opened["amount"], opened["product"]) == ("qualified", "900", "GTX Pro")
    assert (opened["customer_id"], opened["deal_kind"], opened["currency"]) == (
        "Borealis",
        "new_business",
        "EUR",
    )
    assert (opened["rep_id"], opened["team_id"], opened["source"]) == (
        "Ben Okafor",
        "Mara Lind",
        "crm-export",
    )
    assert (lost["event_type"], lost["from_stage"], lost["to_stage"]) == (
        "deal.stage_changed",
        "qualified",
        "lost",
    )
    assert lost["occurred_at"] == "2026-02-03T00:00:00-05:00"
    opp5 = [e for e in events if e["deal_id"] == "OPP-005"]
    assert [e["event_type"] for e in opp5] == ["deal.opened"]  # open: in its own stage
    assert opp5[0]["stage"] == "qualified"
    won = [e for e in events if e["deal_id"] == "OPP-007"]
    assert [(e["event_type"], e.get("amount")) for e in won] == [
        ("deal.opened", "4500"),
        ("deal.amount_changed", "4800"),  # before the win, at the same instant
        ("deal.stage_changed", None),
    ]
    assert won[1]["occurred_at"] == won[2]["occurred_at"] == "2026-03-20T00:00:00-04:00"


def test_the_same_export_twice_gives_the_same_ids_and_a_later_one_only_new_facts(tmp_path):
    _s, first, _k = run(DEALS)
    _s, again, _k = run(DEALS)
    assert [e["event_id"] for e in first] == [e["event_id"] for e in again]
    assert len({e["event_id"] for e in first}) == len(first)
    summary, later, _k = run(later_export(tmp_path))
    known = {e["event_id"] for e in first}
    new = [e for e in later if e["event_id"] not in known]
    assert len(new) == LATER_NEW_EVENTS
    assert sorted((e["deal_id"], e["event_type"]) for e in new) == [
        ("OPP-005", "deal.amount_changed"),
        ("OPP-005", "deal.stage_changed"),
        ("OPP-008", "deal.stage_changed"),
        ("OPP-009", "deal.opened"),
    ]
    opp9 = next(e for e in new if e["deal_id"] == "OPP-009")
    assert opp9["deal_kind"] == "upsell"  # Corvid won OPP-004 before OPP-009 was created
    # what the pipeline keeps: the first of each id (the later export's OPP-005 opened event
    # is the same fact as before)
    kept = list({e["event_id"]: e for e in reversed(first + later)}.values())[::-1]
    rows = kpi_rows(sorted(kept, key=lambda e: (first + later).index(e)))
    for kpi, value in APRIL.items():
        assert month_values(rows, kpi)["2026-04-01"] == pytest.approx(value, rel=1e-9), kpi
    assert month_values(rows, "pipeline_value")["2026-03-01"] == PIPELINE["2026-03-01"]


HEADER = DEALS.read_text().splitlines()[0]
BAD = (
    HEADER
    + """
OPP-101,Ana Ruiz,GTX Pro,Acme,Won,01/05/2026,01/20/2026,1000,1200
OPP-102,Ana Ruiz,GTX Pro,Acme,Won,13/45/2026,01/20/2026,1000,1200
OPP-103,Ben Okafor,GTX Pro,Borealis,Closed Won,01/10/2026,02/03/2026,900,900
,Ben Okafor,GTX Pro,Borealis,Lost,01/10/2026,02/03/2026,900,0
OPP-105,Cleo Park,GTX Pro,Dunmore,Engaging,02/20/2026,,-4000,
OPP-106,Cleo Park,"GTX Pro,Estrada,Lost,02/01/2026,02/25/2026,3000,0
OPP-107,Cleo Park,GTX Pro,Estrada,Won,03/01/2026,03/20/2026,4500,4800
OPP-108,Nobody,GTX Pro,Estrada,Won,03/01/2026,03/20/2026,4500,4800
OPP-109,Cleo Park,GTX Pro,Estrada,Won,03/01/2026,02/20/2026,4500,4800
OPP-110,Cleo Park,GTX Pro,Estrada,Won,03/01/2026,,4500,4800
OPP-101,Ana Ruiz,GTX Pro,Acme,Lost,01/05/2026,01/20/2026,1000,0
OPP-112,Ana Ruiz,GTX Pro,Acme,Engaging,01/05/1999,,1000,
OPP-113,Ana Ruiz,GTX Pro,,Engaging,01/05/2026,,1000,
OPP-114,Ana Ruiz,GTX Pro,Acme,Prospecting,,,1000,
OPP-115,Ana Ruiz,GTX Pro,Acme,Engaging,01/05/2026,,1 000,
OPP-116,Ana Ruiz,GTX Pro,Acme,Engaging,01/06/2026,,1000,
"""
)


def test_hostile_cells_are_row_problems_under_the_event_limits(tmp_path):
    """A NUL character, a cell over the 1,000,000-byte limit, an amount beyond 15 digits: the
    derived events would break the contract's Limits, so their rows are skipped, the rest
    imports."""
    mapping = tmp_path / "map.yaml"
    mapping.write_text(DEALS_MAPPING.read_text())
    (tmp_path / "sales_teams.csv").write_text((DEALS.parent / "sales_teams.csv").read_text())
    rows = [
        "OPP-1,Ana Ruiz,GTX Pro,Acme,Engaging,01/05/2026,,100,",
        "OPP-2,Ana Ruiz,GTX\x00Pro,Acme,Engaging,01/05/2026,,100,",
        "OPP-3,Ana Ruiz," + "x" * 1_000_001 + ",Acme,Engaging,01/05/2026,,100,",
        "OPP-4,Ana Ruiz,GTX Pro,Acme,Engaging,01/05/2026,,1234567890123456,",
    ]
    path = tmp_path / "hostile.csv"
    path.write_text(HEADER + "\n" + "\n".join(rows) + "\n")
    summary, events, _keys = run(path, mapping)
    problems = {p.line: p.reason for p in summary.problems}
    assert sorted(problems) == [3, 4, 5]
    assert problems[
        3
    ] == "its deal.opened event is invalid: a string holds a NUL character: " + repr("GTX\x00Pro")
    assert problems[4].endswith("bytes, more than the 1000000 allowed")
    assert problems[5].endswith("has 16 digits before the decimal point, more than the 15 allowed")
    assert [e["deal_id"] for e in events] == ["OPP-1"]


def test_bad_rows_are_reported_with_line_column_and_reason_and_the_rest_imports(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(BAD)
    mapping = tmp_path / "map.yaml"
    mapping.write_text(DEALS_MAPPING.read_text())
    (tmp_path / "sales_teams.csv").write_text((DEALS.parent / "sales_teams.csv").read_text())
    summary, events, _keys = run(path, mapping)
    problems = {(p.line, p.column): p.reason for p in summary.problems}
    assert sorted(problems) == [
        (3, "engage_date"),
        (4, "deal_stage"),
        (5, "opportunity_id"),
        (6, "expected_value"),
        (7, "-"),
        (9, "sales_agent"),
        (10, "close_date"),
        (11, "close_date"),
        (12, "opportunity_id"),
        (13, "-"),
        (14, "account"),
        (15, "engage_date"),
        (16, "expected_value"),
    ]
    assert "not a date on the calendar" in problems[(3, "engage_date")]
    assert "'Closed Won' is not a stage the mapping knows" in problems[(4, "deal_stage")]
    assert "every row needs its deal id" in problems[(5, "opportunity_id")]
    assert "negative" in problems[(6, "expected_value")]
    assert "broken quoting" in problems[(7, "-")]
    assert "'Nobody' has no team in sales_teams.csv" in problems[(9, "sales_agent")]
    assert "before the created date" in problems[(10, "close_date")]
    assert "no close date" in problems[(11, "close_date")]
    assert "on line 2 already" in problems[(12, "opportunity_id")]
    assert "occurred_at" in problems[(13, "-")]  # before 2000: the contract's Limits
    assert "does not say when the deal was created" in problems[(15, "engage_date")]
    assert (summary.rows, summary.imported_rows) == (16, 3)
    assert sorted({e["deal_id"] for e in events}) == ["OPP-101", "OPP-107", "OPP-116"]
