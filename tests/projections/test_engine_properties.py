"""Order, duplication and batching never change the rows.

Events are drawn from a small pool of instants around the Amsterdam DST change, a quarter end
and the turn of the year, so ties within a deal or lead are frequent (decided by seq, which
travels with the record whatever the order of application).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpiflow.events.fields import STAGES
from kpiflow.projections.catalog import CATALOG
from kpiflow.projections.engine import KpiEngine
from kpiflow.projections.records import EventRecord
from tests.projections.kpi_events import AMSTERDAM, engine

INSTANTS = [
    "2025-10-20T10:00:00Z",  # a year before, for year-over-year growth
    "2025-11-02T10:00:00Z",
    "2026-09-30T21:59:00Z",  # Sep 30 23:59 local
    "2026-09-30T22:00:00Z",  # Oct 1 00:00 local: next month and quarter
    "2026-10-24T22:30:00Z",
    "2026-10-25T00:30:00Z",  # 02:30 CEST
    "2026-10-25T02:30:00+01:00",  # 02:30 CET, written with an offset
    "2026-10-25T01:30:00Z",  # the same instant as the previous one
    "2026-10-25T23:00:00Z",  # Mon Oct 26 00:00 local
    "2026-10-31T23:00:00Z",  # Nov 1 00:00 local
    "2026-11-30T12:00:00Z",
    "2026-12-31T23:00:00Z",  # Jan 1 2027 00:00 local
    "2027-01-04T00:00:00+01:00",
]
PEOPLE = [("r1", "tA"), ("r2", "tA"), ("r3", "tB"), ("r1", "tB")]  # r1 moves teams
DEALS = ["D1", "D2", "D3"]
CUSTOMERS = ["c1", "c2"]
AMOUNTS = [Decimal("0"), Decimal("100"), Decimal("250.50")]

instant = st.sampled_from(INSTANTS)
person = st.sampled_from(PEOPLE)

activity = st.fixed_dictionaries(
    {
        "event_type": st.just("activity.logged"),
        "activity_type": st.sampled_from(["call", "email", "meeting", "demo", "voicemail"]),
        "direction": st.sampled_from(["outbound", "inbound", ""]),
    }
)
lead_created = st.fixed_dictionaries(
    {"event_type": st.just("lead.created"), "lead_id": st.sampled_from(["L1", "L2"])}
)
assessed = st.fixed_dictionaries(
    {
        "event_type": st.just("lead.qualification_assessed"),
        "lead_id": st.sampled_from(["L1", "L2"]),
        "checklist": st.one_of(
            st.just({"budget": True, "authority": True, "need": True}),
            st.dictionaries(
                st.sampled_from(["budget", "authority", "need", "timing"]), st.booleans()
            ),
        ),
    }
)
opened = st.fixed_dictionaries(
    {
        "event_type": st.just("deal.opened"),
        "deal_id": st.sampled_from(DEALS),
        "customer_id": st.sampled_from(CUSTOMERS),
        "deal_kind": st.sampled_from(["new_business", "upsell", "renewal"]),
        "product": st.sampled_from(["enterprise", "basic"]),
        "amount": st.sampled_from(AMOUNTS),
        "stage": st.sampled_from(["prospect", "qualified", "proposal"]),
    }
)
stage_changed = st.fixed_dictionaries(
    {
        "event_type": st.just("deal.stage_changed"),
        "deal_id": st.sampled_from(DEALS),
        "from_stage": st.sampled_from(STAGES),
        "to_stage": st.sampled_from([*STAGES, "won", "won"]),
    }
)
amount_changed = st.fixed_dictionaries(
    {
        "event_type": st.just("deal.amount_changed"),
        "deal_id": st.sampled_from(DEALS),
        "amount": st.sampled_from(AMOUNTS),
    }
)
churned = st.fixed_dictionaries(
    {"event_type": st.just("customer.churned"), "customer_id": st.sampled_from(CUSTOMERS)}
)

body = st.one_of(
    activity,
    lead_created,
    assessed,
    assessed,
    opened,
    opened,
    opened,
    stage_changed,
    stage_changed,
    stage_changed,
    stage_changed,
    amount_changed,
    churned,
)


@st.composite
def deal_story(draw, deal: str) -> list:
    """A deal that opens, moves and often closes, at drawn instants (so often out of order)."""
    story = [(draw(instant), draw(person), {**draw(opened), "deal_id": deal})]
    for to_stage in draw(
        st.lists(st.sampled_from(["qualified", "proposal", "won", "lost"]), max_size=3)
    ):
        change = {**draw(stage_changed), "deal_id": deal, "to_stage": to_stage}
        story.append((draw(instant), draw(person), change))
    return story


@st.composite
def event_lists(draw) -> list:
    drawn = draw(st.lists(st.tuples(instant, person, body), max_size=30))
    for deal in draw(st.lists(st.sampled_from(DEALS), unique=True)):
        drawn.extend(draw(deal_story(deal)))
    drawn = draw(st.permutations(drawn))  # arrival order (seq) is not time order
    return drawn or [(INSTANTS[0], PEOPLE[0], {"event_type": "lead.created", "lead_id": "L1"})]


events = event_lists()


def to_records(drawn: list) -> list[EventRecord]:
    return [
        EventRecord(
            event_id=str(uuid.UUID(int=i + 1)),
            occurred_at=datetime.fromisoformat(at),
            rep_id=rep,
            team_id=team,
            seq=i + 1,
            **fields,
        )
        for i, (at, (rep, team), fields) in enumerate(drawn)
    ]


def bulk(records: list[EventRecord]) -> dict:
    kpis = engine(AMSTERDAM)
    kpis.apply(records)
    return {row.key: row.value for row in kpis.rows()}


PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(drawn=events, data=st.data())
def test_any_permutation_gives_the_same_rows(drawn, data) -> None:
    records = to_records(drawn)
    shuffled = data.draw(st.permutations(records))
    assert bulk(shuffled) == bulk(records)


@PROPERTY
@given(drawn=events, data=st.data())
def test_any_duplication_gives_the_same_rows(drawn, data) -> None:
    records = to_records(drawn)
    copies = data.draw(st.lists(st.sampled_from(records), max_size=20))
    mixed = data.draw(st.permutations(records + copies))
    kpis = engine(AMSTERDAM)
    kpis.apply(mixed)
    assert kpis.event_count == len(records)
    assert {row.key: row.value for row in kpis.rows()} == bulk(records)


@PROPERTY
@given(drawn=events, data=st.data())
def test_micro_batches_and_take_changes_rebuild_the_bulk_rows(drawn, data) -> None:
    records = to_records(drawn)
    copies = data.draw(st.lists(st.sampled_from(records), max_size=10))
    stream = data.draw(st.permutations(records + copies))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=8)))
    kpis = engine(AMSTERDAM)
    table: dict = {}
    for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        kpis.apply(stream[start:end])
        if data.draw(st.booleans()):
            kpis.rows()  # reading the rows must not swallow changes
        upserts, deletes = kpis.take_changes()
        assert len({row.key for row in upserts}) == len(upserts)
        for key in deletes:
            assert key in table, "a delete of a row that was never sent"
            del table[key]
        for row in upserts:
            assert row.key not in table or table[row.key] != row.value, (
                "an upsert that changes nothing"
            )
            table[row.key] = row.value
    expected = bulk(records)
    assert table == expected
    assert kpis.take_changes() == ([], [])
    assert {row.key: row.value for row in kpis.rows()} == expected


@PROPERTY
@given(drawn=events)
def test_rows_are_sorted_unique_typed_and_in_the_catalog(drawn) -> None:
    kpis: KpiEngine = engine(AMSTERDAM)
    kpis.apply(to_records(drawn))
    rows = kpis.rows()
    keys = [row.key for row in rows]
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)
    for row in rows:
        spec = CATALOG[row.kpi]
        assert row.grain in spec.grains
        assert row.dimension_kind in spec.dimensions
        assert (row.dimension == "all") == (row.dimension_kind == "all")
        expected_type = {"count": int, "amount": Decimal, "ratio": float, "days": float}[
            spec.value_type
        ]
        assert type(row.value) is expected_type, row
