"""The worker's collector settings: what they change, and what they must not break."""

from __future__ import annotations

import gc
import weakref

import pytest

from kpiflow.streams.collector import YOUNG_EVERY, settle_for_long_run


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


@pytest.fixture
def settled():
    before = gc.get_threshold()
    try:
        settle_for_long_run()
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


@pytest.mark.usefixtures("settled")
def test_what_exists_is_frozen_and_the_young_generation_collected_less_often():
    assert gc.get_freeze_count() > 1_000  # at least the world of this test process
    assert gc.get_threshold()[0] == YOUNG_EVERY


def test_a_frozen_object_is_still_freed_by_its_reference_count():
    before = gc.get_threshold()
    node = Node()
    gone = weakref.ref(node)
    try:
        settle_for_long_run()
        assert gone() is node  # frozen with the rest
        del node
        assert gone() is None  # freed at once, no collection needed
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


@pytest.mark.usefixtures("settled")
def test_cycles_made_after_are_still_collected():
    a, b = Node(), Node()
    a.other, b.other = b, a
    gone = weakref.ref(a)
    del a, b
    assert gone() is not None  # a cycle: its reference counts never reach 0
    gc.collect()
    assert gone() is None
