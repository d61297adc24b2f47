"""The ingest step of one micro-batch: triage -> dead letters -> raw log -> (then Faust acks).

Offsets are acknowledged by the agent only after `process` returns, i.e. after ClickHouse
accepted the batch and every dead letter was delivered. A transient ClickHouse failure is retried
with the same rows and the same deduplication token, never skipped; any other error reaches the
agent, which exits without acknowledging the batch.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from kpiflow.errors import PoisonFloodError
from kpiflow.events.rates import ExchangeRates
from kpiflow.projections import deadletters, rawlog
from kpiflow.projections.allocators import release_memory
from kpiflow.projections.rawlog import (
    Inserted,
    batch_token,
    existing_copies,
    id_prefix,
    id_prefixes,
    inserted,
    terminal_index,
)
from kpiflow.streams.clickhouse_io import ClickHouseIO
from kpiflow.streams.deadletter import DeadLetterRefused, dead_letter_headers
from kpiflow.streams.fault_hooks import NO_FAULTS, FaultHooks
from kpiflow.streams.id_filter import PrefixFilter
from kpiflow.streams.triage import Incoming, Rejected, Triaged, drop_known_rows
from kpiflow.streams.triage_process import LocalTriage

log = logging.getLogger("kpiflow.ingest")

# Queues one dead letter and returns its delivery (awaited before the batch is acknowledged).
SendDeadLetter = Callable[[bytes, list[tuple[str, bytes]]], Awaitable[Awaitable[None]]]


@dataclass
class IngestMetrics:
    batches: int = 0
    accepted: int = 0
    rejected: int = 0
    duplicates: int = 0
    consecutive_rejects: int = 0
    dead_letters_in_table: int = 0  # refused by the dead-letter topic, kept in ClickHouse

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def _prefix(event_id: str) -> int | None:
    try:
        return id_prefix(event_id)
    except ValueError:  # a UUID in a form ClickHouse's prefix does not read: always look it up
        return None


class IngestService:
    def __init__(
        self,
        io: ClickHouseIO,
        currency: str,
        topic: str,
        send_dead_letter: SendDeadLetter,
        poison_cap: int,
        hooks: FaultHooks = NO_FAULTS,
        rates: ExchangeRates | None = None,
        triager=None,
    ) -> None:
        self.io = io
        self.topic = topic
        self.send_dead_letter = send_dead_letter
        self.poison_cap = poison_cap
        self.metrics = IngestMetrics()
        # LocalTriage or TriageProcess (streams/triage_process.py): holds the terminal stages
        self.triager = triager if triager is not None else LocalTriage(currency, rates)
        self.known_prefixes = PrefixFilter()  # id_prefix of every event_id in the raw log
        self._loaded = False
        self.hooks = hooks  # test-only (kpiflow.streams.fault_hooks); NO_FAULTS in production
        self.dedup = hooks.dedup
        self.dedup_tokens = hooks.dedup_tokens
        self.crash_at = hooks.crash_at

    async def load_state(self) -> None:
        """What the raw log knows of terminal stages, before the first batch is judged."""
        if not self._loaded:
            terminals = await self.io.run_retrying(
                "loading terminal stages", terminal_index, self.io.store
            )
            await self.triager.load(terminals)
            if self.dedup:
                self.known_prefixes = PrefixFilter(
                    await self.io.run_retrying("loading event ids", id_prefixes, self.io.store)
                )
            await self.io.run(release_memory, self.io.store)  # after scans of the whole raw log
            self._loaded = True

    def _maybe_known(self, event_ids: Sequence[str], prefixes: Sequence[int | None]) -> list[str]:
        """Ids that may already be in the raw log (their prefix is); the rest are new for sure."""
        held = self.known_prefixes.holds([p for p in prefixes if p is not None])
        out, k = [], 0
        for event_id, prefix in zip(event_ids, prefixes, strict=True):
            if prefix is None:
                out.append(event_id)
                continue
            if held[k]:
                out.append(event_id)
            k += 1
        return out

    async def process(self, batch: Sequence[Incoming]) -> Inserted:
        """Triage, dead letters, raw-log insert; returns what the batch put in the raw log."""
        await self.load_state()
        if self.crash_at is not None:
            self.hooks.crash_if("after_ack", self.metrics.batches)  # the previous batch was acked
        result: Triaged = await self.triager.triage(batch)
        ids = result.event_ids
        prefixes = dict(zip(ids, map(_prefix, ids), strict=True))  # once per event
        candidates = self._maybe_known(ids, [prefixes[e] for e in ids]) if self.dedup else []
        if candidates:
            existing = await self.io.run_retrying(
                "looking up event ids", existing_copies, self.io.store, candidates
            )
            result = drop_known_rows(result, existing)
        self._check_poison(result)
        deliveries = []
        for rejected in result.rejected:  # queued one after the other, delivered together
            where = rejected.where
            log.warning(
                "dead-lettering %s[%s]@%s: %s",
                where.topic,
                where.partition,
                where.offset,
                rejected.reason,
            )
            deliveries.append((rejected, await self._queue_dead_letter(rejected)))
        for rejected, delivery in deliveries:
            if delivery is not None:
                try:
                    await delivery
                except DeadLetterRefused as refused:
                    await self._keep_dead_letter(rejected, refused)
        if self.crash_at is not None:
            self.hooks.crash_if("before_insert", self.metrics.batches + 1)
        rows = None
        if result.rows is not None:
            token = batch_token(self.topic, result.ranges) if self.dedup_tokens else None
            rows = await self.io.run_retrying(
                f"raw-log insert of {result.accepted} rows ({token})",
                self._insert,
                result.rows,
                token,
            )
        if self.crash_at is not None:
            self.hooks.crash_if("after_insert", self.metrics.batches + 1)
        self.known_prefixes.add(p for p in (prefixes[e] for e in result.event_ids) if p is not None)
        m = self.metrics
        m.batches += 1
        m.accepted += result.accepted
        m.rejected += len(result.rejected)
        m.duplicates += result.duplicates
        return inserted(rows, result.ranges)

    def _insert(self, rows, token: str | None):
        if self.hooks.store_down:
            self.hooks.refuse_insert()
        return rawlog.insert_rows(self.io.store, rows, token)

    async def _queue_dead_letter(self, rejected: Rejected) -> Awaitable[None] | None:
        """To the dead-letter topic (its delivery, to await); if the topic refuses the record
        at once, to the dead-letter table (None)."""
        where = rejected.where
        headers = dead_letter_headers(rejected.reason, where.topic, where.partition, where.offset)
        try:
            return await self.send_dead_letter(rejected.value, headers)
        except DeadLetterRefused as refused:
            await self._keep_dead_letter(rejected, refused)
            return None

    async def _keep_dead_letter(self, rejected: Rejected, refused: DeadLetterRefused) -> None:
        """A dead letter the topic refused: kept in the dead-letter table instead."""
        where = rejected.where
        log.error(
            "the dead-letter topic refused %s[%s]@%s (%s bytes): %s; keeping it in the "
            "dead-letter table (view dead_letters) instead",
            where.topic,
            where.partition,
            where.offset,
            len(rejected.value),
            refused,
        )
        await self.io.run_retrying(
            f"dead-letter table insert of {where.topic}[{where.partition}]@{where.offset}",
            deadletters.insert,
            self.io.store,
            where.topic,
            where.partition,
            where.offset,
            rejected.reason,
            rejected.value,
            str(refused),
        )
        self.metrics.dead_letters_in_table += 1

    def _check_poison(self, result) -> None:
        """Raise when more than `poison_cap` invalid messages came in a row (across batches)."""
        for rejected in result.rejected_flags:
            self.metrics.consecutive_rejects = (
                self.metrics.consecutive_rejects + 1 if rejected else 0
            )
            if self.poison_cap and self.metrics.consecutive_rejects > self.poison_cap:
                raise PoisonFloodError(
                    f"more than {self.poison_cap} invalid messages in a row (KPIFLOW_POISON_CAP): "
                    "stopping instead of dead-lettering everything. Check the producers (a bad "
                    "deploy?), then restart the worker; this batch was not acknowledged and "
                    "will be read again."
                )
