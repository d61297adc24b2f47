"""Celebrations on the embedded ClickHouse: a Master KPI target reached mid-quarter is recorded
exactly once, survives a plan change that puts it out of reach, and a built definition version
says whether it still holds."""

from __future__ import annotations

import textwrap
from datetime import UTC, date, datetime, timedelta

from kpiflow.projections import achievements
from kpiflow.projections.plans import parse_plan_text
from kpiflow.projections.plans.storage import apply_plan
from kpiflow.projections.projector import Projector
from tests.projections.kpi_events import UTC as ZONE_UTC
from tests.projections.test_projector import insert_raw, run_until_idle


def quarter_of(today: date) -> tuple[str, date]:
    first = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    return f"{today.year}-Q{(today.month - 1) // 3 + 1}", first


def plan(today: date, north: int) -> str:
    quarter, _ = quarter_of(today)
    return textwrap.dedent(f"""
        quarter: {quarter}
        focus:
          - kpi: won_value
            master: true
            targets:
              all: 3000
              teams:
                north: {north}
        review: {{rhythm: weekly, day: fri}}
        reward: Team dinner at the harbour
    """).lstrip("\n")


def won(n: int, team: str, amount: str, at: datetime) -> list[dict]:
    base = {
        "schema_version": 1,
        "source": "t",
        "rep_id": f"{team}-rep",
        "team_id": team,
        "deal_id": f"deal-{n}",
    }
    stamp = at.isoformat().replace("+00:00", "Z")
    return [
        base | {
            "event_id": f"00000000-0000-4000-8000-{2 * n:012d}",
            "event_type": "deal.opened", "occurred_at": stamp, "customer_id": f"c-{n}",
            "deal_kind": "new_business", "product": "p", "amount": amount, "currency": "EUR",
            "stage": "proposal",
        },
        base | {
            "event_id": f"00000000-0000-4000-8000-{2 * n + 1:012d}",
            "event_type": "deal.stage_changed", "occurred_at": stamp, "from_stage": "proposal",
            "to_stage": "won",
        },
    ]  # fmt: skip


def rows(store) -> list[dict]:
    return store.rows(
        "SELECT kpi, dimension_kind, dimension, target, value, reward, plan_revision, "
        "holds_in_live FROM {db}.achievements ORDER BY dimension_kind, dimension"
    )


def test_a_target_reached_mid_quarter_is_recorded_once(ch_store):
    today = date.fromisoformat(ch_store.scalar("SELECT toString(today())"))
    now = datetime.now(UTC)
    at = max(
        now - timedelta(hours=1), datetime.combine(quarter_of(today)[1], datetime.min.time(), UTC)
    )
    projector = Projector(ch_store, ZONE_UTC)
    insert_raw(ch_store, won(9, "north", "5000", at), first_offset=90)
    run_until_idle(projector)
    assert achievements.record_reached(ch_store, ZONE_UTC) == []  # no plan this quarter yet
    ch_store.command("TRUNCATE TABLE {db}.raw_event_log")
    projector = Projector(ch_store, ZONE_UTC)
    apply_plan(ch_store, parse_plan_text(plan(today, north=1000)))
    insert_raw(ch_store, won(1, "north", "800", at))
    run_until_idle(projector)
    assert achievements.record_reached(ch_store, ZONE_UTC) == []  # 800 of 1000
    insert_raw(ch_store, won(2, "north", "500", at), first_offset=10)
    run_until_idle(projector)
    first = achievements.record_reached(ch_store, ZONE_UTC)
    assert [(a.kpi, a.who, a.value, a.target) for a in first] == [
        ("won_value", "team north", 1300.0, 1000.0)
    ]
    assert first[0].reward == "Team dinner at the harbour" and first[0].reached_on == today
    assert achievements.record_reached(ch_store, ZONE_UTC) == []  # once
    insert_raw(ch_store, won(3, "south", "2000", at), first_offset=20)
    run_until_idle(projector)
    second = achievements.record_reached(ch_store, ZONE_UTC)
    assert [a.who for a in second] == ["the organisation"]  # 3300 of 3000; north not again
    assert [(r["dimension_kind"], r["dimension"], r["holds_in_live"]) for r in rows(ch_store)] == [
        ("all", "all", 1),
        ("team", "north", 1),
    ]

    # a plan change puts north's target out of reach: the record stays, nothing new
    apply_plan(ch_store, parse_plan_text(plan(today, north=100000)))
    assert achievements.record_reached(ch_store, ZONE_UTC) == []
    assert len(rows(ch_store)) == 2
    assert rows(ch_store)[1]["plan_revision"] == 1  # reached under the first revision


def test_a_built_version_says_which_achievements_still_hold(ch_store):
    today = date.fromisoformat(ch_store.scalar("SELECT toString(today())"))
    at = datetime.now(UTC) - timedelta(minutes=5)
    apply_plan(ch_store, parse_plan_text(plan(today, north=1000)))
    insert_raw(ch_store, won(1, "north", "1300", at) + won(2, "south", "1800", at))
    run_until_idle(Projector(ch_store, ZONE_UTC))
    assert len(achievements.record_reached(ch_store, ZONE_UTC)) == 2
    # version 2's numbers: north's won value is now 900 (a hand-made row), the organisation's
    # row missing: north no longer holds, nor does the organisation
    quarter_start = quarter_of(today)[1]
    ch_store.insert(
        "kpi_rows",
        [[2, "won_value", "quarter", quarter_start, "team", "north", 900.0, 1, 0]],
        ("definition_version", "kpi", "grain", "period_start", "dimension_kind", "dimension",
         "value", "revision", "is_deleted"),
    )  # fmt: skip
    assert achievements.check_version(ch_store, 2) == 2
    ch_store.insert("live_version", [["live", 2, 2**62]], ["name", "version", "revision"])
    assert [(r["dimension"], r["holds_in_live"]) for r in rows(ch_store)] == [
        ("all", 0),
        ("north", 0),
    ]
    # under version 1 (live again) they hold: recorded under it
    ch_store.insert("live_version", [["live", 1, 2**62 + 1]], ["name", "version", "revision"])
    assert [r["holds_in_live"] for r in rows(ch_store)] == [1, 1]
