"""The test-only fault hooks: off unless set, and a wrong setting is a clear error."""

from __future__ import annotations

import pytest

from kpiflow.errors import ConfigError
from kpiflow.streams.fault_hooks import NO_FAULTS, FaultHooks


def test_unset_means_no_faults():
    assert FaultHooks.from_env({}) == NO_FAULTS
    assert NO_FAULTS.crash_at is None and NO_FAULTS.dedup and NO_FAULTS.dedup_tokens


def test_crash_point_and_unsafe_switches():
    hooks = FaultHooks.from_env(
        {"KPIFLOW_FAULT_CRASH_AT": "after_insert:3", "KPIFLOW_UNSAFE_NO_DEDUP_TOKENS": "1"}
    )
    assert hooks.crash_at == ("after_insert", 3)
    assert hooks.dedup and not hooks.dedup_tokens
    assert not FaultHooks.from_env({"KPIFLOW_UNSAFE_NO_DEDUP": "1"}).dedup_tokens


@pytest.mark.parametrize("spec", ["somewhere:1", "after_ack", "after_ack:0", "before_insert:x"])
def test_a_wrong_crash_point_names_the_fix(spec):
    with pytest.raises(ConfigError, match="expected <point>:<batch>"):
        FaultHooks.from_env({"KPIFLOW_FAULT_CRASH_AT": spec})


def test_crash_if_does_nothing_at_other_points():
    FaultHooks(crash_at=("after_insert", 2)).crash_if("after_insert", 1)
    FaultHooks(crash_at=("after_insert", 2)).crash_if("before_insert", 2)
