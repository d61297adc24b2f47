"""The ingest's prefix filter answers like a set of the prefixes, before and after merging."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from kpiflow.streams import id_filter
from kpiflow.streams.id_filter import PrefixFilter

prefix = st.integers(0, 2**64 - 1)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(prefix, max_size=40),
    st.lists(st.lists(prefix, max_size=10), max_size=5),
    st.lists(prefix, max_size=20),
    st.integers(1, 6),
)
def test_like_a_set(loaded, added, asked, merge_at) -> None:
    id_filter.MERGE_AT, old = merge_at, id_filter.MERGE_AT
    try:
        f, reference = PrefixFilter(np.array(loaded, dtype=np.uint64)), set(loaded)
        for batch in added:
            f.add(batch)
            reference.update(batch)
            wanted = asked + batch + loaded[:3]
            assert f.holds(wanted) == [p in reference for p in wanted]
        assert f.holds(asked) == [p in reference for p in asked]
    finally:
        id_filter.MERGE_AT = old
