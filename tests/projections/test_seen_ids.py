"""The engine's memory of applied event ids: exact, whatever form an id has, across compaction."""

from __future__ import annotations

import re
import uuid

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from kpiflow.projections.engine import seen
from kpiflow.projections.engine.seen import SeenIds, halves, split

CANONICAL = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def test_add_says_whether_the_id_was_new_before_and_after_compaction(monkeypatch) -> None:
    monkeypatch.setattr(seen, "COMPACT_AT", 4)
    ids = SeenIds()
    canonical = [str(uuid.UUID(int=(i + 1) * 0xABCDEF0123456789ABCDEF)) for i in range(10)]
    others = ["crm-1", canonical[0].upper(), ""]
    for event_id in canonical + others:
        assert ids.add(event_id)
    assert len(ids) == 13
    assert len(ids._hi) >= 8  # most moved to the arrays
    for event_id in canonical + others:
        assert event_id in ids
        assert not ids.add(event_id)
    assert "crm-2" not in ids and str(uuid.UUID(int=5)) not in ids
    assert len(ids) == 13


def test_ids_that_share_their_first_half_are_told_apart() -> None:
    ids = SeenIds()
    first, second = (
        str(uuid.UUID(hex="0123456789abcdef0000000000000001")),
        str(uuid.UUID(hex="0123456789abcdef0000000000000002")),
    )
    assert first not in ids
    ids.add_unique(
        np.array([halves(first)[0]], np.uint64), np.array([halves(first)[1]], np.uint64), []
    )
    assert first in ids and second not in ids
    assert ids.add(second) and not ids.add(first)
    ids.compact()
    assert first in ids and second in ids and len(ids) == 2


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.uuids().map(str), st.uuids().map(lambda u: str(u).upper()), st.text(max_size=5)
        ),
        max_size=60,
    ),
    st.integers(1, 8),
)
def test_like_a_set(event_ids: list[str], compact_at: int) -> None:
    seen.COMPACT_AT, old = compact_at, seen.COMPACT_AT
    try:
        ids, reference = SeenIds(), set()
        for event_id in event_ids + event_ids[::2]:
            assert ids.add(event_id) == (event_id not in reference)
            reference.add(event_id)
            assert len(ids) == len(reference)
        assert all(event_id in ids for event_id in reference)
    finally:
        seen.COMPACT_AT = old


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.lists(st.one_of(st.uuids().map(str), st.text(max_size=3)), max_size=30), max_size=6
    ),
    st.integers(1, 8),
)
def test_add_all_is_add_of_each(batches: list[list[str]], compact_at: int) -> None:
    seen.COMPACT_AT, old = compact_at, seen.COMPACT_AT
    try:
        one, many = SeenIds(), SeenIds()
        for batch in batches + batches[::-1]:
            assert many.add_all(batch) == [one.add(event_id) for event_id in batch]
            assert len(many) == len(one)
    finally:
        seen.COMPACT_AT = old


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.uuids().map(str),
            st.uuids().map(lambda u: str(u).upper()),
            st.uuids().map(lambda u: str(u).replace("-", "x")),
            st.text(min_size=36, max_size=36),
            st.text(max_size=40),
        ),
        max_size=30,
    )
)
def test_split_finds_canonical_uuids_and_their_halves(event_ids: list[str]) -> None:
    positions, hi, lo = split(event_ids)
    expected = [i for i, event_id in enumerate(event_ids) if CANONICAL.fullmatch(event_id)]
    assert positions.tolist() == expected
    assert list(zip(hi.tolist(), lo.tolist(), strict=True)) == [
        halves(event_ids[i]) for i in expected
    ]


def test_split_of_a_batch_with_whitespace_or_uppercase_takes_the_general_path() -> None:
    good = [str(uuid.UUID(int=(i + 7) * 0x1E3779B97F4A7C15F39CC0605CEDC83)) for i in range(4)]
    spaced = good[1][:9] + " " + good[1][10:]  # a space where a hex digit belongs
    for ids in (good, [*good, spaced], [*good, good[0].upper()], [good[2][:35] + "\u00e9"]):
        positions, hi, lo = split(ids)
        expected = [i for i, event_id in enumerate(ids) if CANONICAL.fullmatch(event_id)]
        assert positions.tolist() == expected
        assert list(zip(hi.tolist(), lo.tolist(), strict=True)) == [
            halves(ids[i]) for i in expected
        ]
