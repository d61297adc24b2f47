"""An offset commit that never returns is cancelled after its deadline and tried again.

Seen once in the fault suite (tests/faults/test_broker_kill.py): a commit that began while the
broker was being killed never returned; no offset was committed after it and the worker could
not stop. The broker-kill test cannot make that hang happen on demand, so the deadline is
checked here with commits that hang on purpose (no broker).
"""

from __future__ import annotations

import asyncio
import logging

import pytest
from faust.transport.drivers import aiokafka as driver

from kpiflow.streams.kafka_transport import commit_within
from tests.support.faust_app import offline_app


class Commits:
    """A commit whose first `hangs` attempts never return; the rest answer `answer`."""

    def __init__(self, hangs: int, answer: bool = True) -> None:
        self.hangs, self.answer = hangs, answer
        self.calls = 0
        self.cancelled = 0

    async def __call__(self, *args) -> bool:
        self.calls += 1
        if self.calls <= self.hangs:
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                self.cancelled += 1
                raise
        return self.answer


def test_an_attempt_past_its_deadline_is_cancelled_and_the_commit_tried_again(caplog):
    commits = Commits(hangs=2)
    with caplog.at_level(logging.WARNING, logger="kpiflow.streams.kafka_transport"):
        assert asyncio.run(commit_within(commits, 0.05, lambda: False)) is True
    assert (commits.calls, commits.cancelled) == (3, 2)
    assert sum("trying again" in r.getMessage() for r in caplog.records) == 2


def test_a_commit_in_time_is_called_once_and_its_answer_kept():
    for answer in (True, False):
        commits = Commits(hangs=0, answer=answer)
        assert asyncio.run(commit_within(commits, 5.0, lambda: False)) is answer
        assert commits.calls == 1


def test_a_stopping_consumer_gives_up_after_one_deadline(caplog):
    commits = Commits(hangs=10)
    with caplog.at_level(logging.WARNING, logger="kpiflow.streams.kafka_transport"):
        assert asyncio.run(commit_within(commits, 0.05, lambda: True)) is False
    assert (commits.calls, commits.cancelled) == (1, 1)
    assert "not committed" in caplog.records[-1].getMessage()


def test_an_error_is_not_retried():
    async def failing() -> bool:
        raise RuntimeError("rejected")

    with pytest.raises(RuntimeError, match="rejected"):
        asyncio.run(commit_within(failing, 5.0, lambda: False))


def _consumer_whose_commits(commits: Commits, monkeypatch):
    """The worker's consumer (request timeout 50 ms) over Faust's commit replaced by `commits`."""
    app = offline_app(
        broker_request_timeout=0.05,
        broker_session_timeout=0.05,  # (Faust wants it no longer than the request timeout)
        broker_heartbeat_interval=0.01,
    )
    monkeypatch.setattr(driver.AIOKafkaConsumerThread, "_commit", commits)
    return app.consumer


def test_the_workers_consumer_thread_commits_within_the_request_timeout(monkeypatch):
    commits = Commits(hangs=1)
    consumer = _consumer_whose_commits(commits, monkeypatch)
    assert asyncio.run(consumer._thread._commit({})) is True
    assert (commits.calls, commits.cancelled) == (2, 1)


def test_the_final_commit_of_a_stopping_consumer_gives_up_after_one_deadline(monkeypatch):
    commits = Commits(hangs=10)
    consumer = _consumer_whose_commits(commits, monkeypatch)
    consumer._stopped.set()  # what `Consumer.stop` does before its final commit
    assert asyncio.run(consumer._thread._commit({})) is False
    assert (commits.calls, commits.cancelled) == (1, 1)
