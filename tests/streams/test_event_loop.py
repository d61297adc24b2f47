"""The worker's event loop (KPIFLOW_EVENT_LOOP): uvloop by default, asyncio's on request or when
uvloop is missing."""

from __future__ import annotations

import asyncio
import logging
import sys

import pytest

from kpiflow.errors import ConfigError
from kpiflow.settings import Settings
from kpiflow.streams.worker import use_event_loop


@pytest.fixture(autouse=True)
def _default_policy_after():
    yield
    asyncio.set_event_loop_policy(None)


def _new_loop_module() -> str:
    loop = asyncio.new_event_loop()
    try:
        return type(loop).__module__.split(".")[0]
    finally:
        loop.close()


def test_uvloop_is_the_default_and_asyncio_can_be_chosen(monkeypatch):
    monkeypatch.delenv("KPIFLOW_EVENT_LOOP", raising=False)
    assert Settings().pipeline.event_loop == "uvloop"
    assert use_event_loop("uvloop") == "uvloop"
    assert _new_loop_module() == "uvloop"
    assert use_event_loop("asyncio") == "asyncio"
    assert _new_loop_module() == "asyncio"


def test_uvloop_missing_falls_back_to_asyncio_and_says_so(monkeypatch, caplog):
    assert use_event_loop("uvloop") == "uvloop"  # then uvloop goes missing: the default is back
    monkeypatch.setitem(sys.modules, "uvloop", None)  # `import uvloop` raises ImportError
    with caplog.at_level(logging.WARNING, logger="kpiflow.worker"):
        assert use_event_loop("uvloop") == "asyncio"
    assert _new_loop_module() == "asyncio"
    assert "uvloop is not installed" in caplog.text


def test_an_unknown_loop_is_a_settings_error(monkeypatch):
    monkeypatch.setenv("KPIFLOW_EVENT_LOOP", "trio")
    with pytest.raises(ConfigError, match="KPIFLOW_EVENT_LOOP"):
        Settings()
