"""TEST-ONLY fault hooks of the ingest step, read once from the environment at worker start.

The fault suite (tests/faults/) reaches a worker process only through its environment; unset
(production) these are `NO_FAULTS`, and the ingest step pays one `is None` test per batch.

- `KPIFLOW_FAULT_CRASH_AT=<point>:<batch>` SIGKILLs the worker at one point of batch <batch>
  (counted from 1 in this process): before_insert (triage and dead letters done, raw-log insert
  not started), after_insert (insert returned, batch not yet acknowledged) or after_ack (batch
  <batch> was acknowledged: the kill happens when the next batch arrives).
- `KPIFLOW_FAULT_STORE_DOWN=1` makes every raw-log insert fail as if ClickHouse were unreachable
  (a connection refused: transient, so it is retried with backoff until the worker stops);
  `=permanent` makes it fail with an error retrying cannot cure (the worker exits, code 4).
- UNSAFE, for the negative controls only: `KPIFLOW_UNSAFE_NO_DEDUP_TOKENS=1` drops the insert
  deduplication tokens; `KPIFLOW_UNSAFE_NO_DEDUP=1` also skips the lookup of copies already in
  the raw log, so a duplicate in a later batch is accepted a second time.
"""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Mapping
from dataclasses import dataclass

from kpiflow.errors import ConfigError

log = logging.getLogger("kpiflow.ingest")

CRASH_POINTS = ("before_insert", "after_insert", "after_ack")


@dataclass(frozen=True)
class FaultHooks:
    crash_at: tuple[str, int] | None = None
    dedup: bool = True
    dedup_tokens: bool = True
    store_down: str | None = None  # None, "1" (transient) or "permanent"

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> FaultHooks:
        dedup = env.get("KPIFLOW_UNSAFE_NO_DEDUP") != "1"
        return cls(
            crash_at=_crash_point(env.get("KPIFLOW_FAULT_CRASH_AT")),
            dedup=dedup,
            dedup_tokens=dedup and env.get("KPIFLOW_UNSAFE_NO_DEDUP_TOKENS") != "1",
            store_down=_store_down(env.get("KPIFLOW_FAULT_STORE_DOWN")),
        )

    def refuse_insert(self) -> None:
        if self.store_down == "permanent":
            raise ValueError("KPIFLOW_FAULT_STORE_DOWN=permanent: the store cannot take this batch")
        if self.store_down:
            raise ConnectionRefusedError("KPIFLOW_FAULT_STORE_DOWN=1: ClickHouse is unreachable")

    def crash_if(self, point: str, batch_number: int) -> None:
        if self.crash_at == (point, batch_number):
            log.critical(
                "KPIFLOW_FAULT_CRASH_AT=%s:%s: SIGKILL (test-only hook)", point, batch_number
            )
            logging.shutdown()
            os.kill(os.getpid(), signal.SIGKILL)


NO_FAULTS = FaultHooks()


def _store_down(spec: str | None) -> str | None:
    if not spec:
        return None
    if spec not in ("1", "permanent"):
        raise ConfigError(
            f"KPIFLOW_FAULT_STORE_DOWN={spec!r}: expected 1 or permanent (a test-only hook; unset "
            "it in production)"
        )
    return spec


def _crash_point(spec: str | None) -> tuple[str, int] | None:
    if not spec:
        return None
    point, _, batch = spec.partition(":")
    if point not in CRASH_POINTS or not batch.isdigit() or int(batch) < 1:
        raise ConfigError(
            f"KPIFLOW_FAULT_CRASH_AT={spec!r}: expected <point>:<batch>, point one of "
            f"{', '.join(CRASH_POINTS)}, batch >= 1 (a test-only hook; unset it in production)"
        )
    return point, int(batch)
