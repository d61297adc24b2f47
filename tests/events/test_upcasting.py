"""The upcasting hook: registered steps run in order before validation."""

from kpiflow.events import upcasting


def test_no_upcaster_leaves_payload_alone():
    payload = {"event_type": "lead.created", "schema_version": 1}
    assert upcasting.upcast(payload) == payload


def test_chain_runs_until_current(monkeypatch):
    monkeypatch.setattr(upcasting, "CURRENT_VERSION", 3)
    monkeypatch.setitem(upcasting.UPCASTERS, ("x", 1), lambda p: {**p, "schema_version": 2, "a": 1})
    monkeypatch.setitem(
        upcasting.UPCASTERS, ("x", 2), lambda p: {**p, "schema_version": 3, "b": p["a"] + 1}
    )
    assert upcasting.upcast({"event_type": "x", "schema_version": 1}) == {
        "event_type": "x",
        "schema_version": 3,
        "a": 1,
        "b": 2,
    }
