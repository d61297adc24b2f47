"""Benchmark of the KPI engine on a synthetic raw log (not part of the test suite).

    python bench/engine_bench.py [--events 1000000] [--tz Europe/Amsterdam] [--batch 1000]

Generates the records in-process (50 reps in 10 teams, one year, mostly activity.logged, plus
leads, deals with their stage and amount changes, churn), in raw-log order (by occurred_at,
seq = position), then prints events/s of:
- baseline: a plain loop that only counts records per local day (astimezone + dict bump);
- apply(): the bulk apply of the activities alone, then of the whole log, with the ratio of
  its time to the baseline's;
- rows(): the first read of every row (where the per-entity work is folded into rows) and a
  second read;
- the live path: the last part of the log re-run on a fresh engine in micro-batches with a
  take_changes() after each, as the worker does; it checks that live rows == bulk rows.
"""

from __future__ import annotations

import argparse
import random
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from kpiflow.projections.definitions import DEFAULT_DEFINITION
from kpiflow.projections.engine import KpiEngine
from kpiflow.projections.records import EventRecord

ACTIVITY_TYPES = ["call"] * 5 + ["email"] * 4 + ["voicemail", "linkedin_message", "meeting"]
ACTIVITY_TYPES += ["intake", "demo"]
STAGES = ["prospect", "qualified", "meeting", "proposal", "negotiation"]
START = datetime(2026, 1, 1, tzinfo=UTC)
YEAR = 365 * 86400
DAY = 86400


def synthetic_log(n: int, seed: int = 7) -> list[EventRecord]:
    """About n records: ~92% activities, ~3% lead events, ~5% deal events, a little churn."""
    rng = random.Random(seed)
    reps = [(f"rep-{i:02d}", f"team-{i % 10}") for i in range(50)]
    raw: list[tuple[int, str, str, str, dict]] = []  # (second of the year, type, rep, team, fields)

    def put(second: int, event_type: str, who: tuple[str, str], **fields: object) -> None:
        raw.append((second, event_type, who[0], who[1], fields))

    n_deals = n // 100
    for d in range(n_deals):
        who, t, deal = rng.choice(reps), rng.randrange(YEAR), f"deal-{d}"
        put(t, "deal.opened", who, deal_id=deal, customer_id=f"cust-{d % (n_deals // 2 + 1)}",
            deal_kind=rng.choice(["new_business", "new_business", "upsell", "renewal"]),
            product=rng.choice(["enterprise", "basic", "pro"]),
            amount=Decimal(rng.randrange(1000, 90000)), stage="prospect")  # fmt: skip
        stage = "prospect"
        for next_stage in STAGES[1 : rng.randrange(2, 6)]:
            t += rng.randrange(3600, 20 * DAY)
            put(t, "deal.stage_changed", who, deal_id=deal, from_stage=stage, to_stage=next_stage)
            stage = next_stage
        if rng.random() < 0.5:
            t += rng.randrange(3600, 10 * DAY)
            amount = Decimal(rng.randrange(1000, 90000))
            put(t, "deal.amount_changed", who, deal_id=deal, amount=amount)
        if rng.random() < 0.7:
            t += rng.randrange(3600, 30 * DAY)
            to_stage = rng.choice(["won", "won", "lost"])
            put(t, "deal.stage_changed", who, deal_id=deal, from_stage=stage, to_stage=to_stage)
    for lead in range(n // 70):
        who, t = rng.choice(reps), rng.randrange(YEAR)
        put(t, "lead.created", who, lead_id=f"lead-{lead}")
        checklist = {"budget": rng.random() < 0.7, "authority": rng.random() < 0.7, "need": True}
        lead_id = f"lead-{lead}"
        put(t + DAY, "lead.qualification_assessed", who, lead_id=lead_id, checklist=checklist)
    for c in range(n_deals // 20):
        put(rng.randrange(YEAR), "customer.churned", rng.choice(reps), customer_id=f"cust-{c * 7}")
    for _ in range(max(0, n - len(raw))):
        direction = "outbound" if rng.random() < 0.8 else "inbound"
        put(rng.randrange(YEAR), "activity.logged", rng.choice(reps),
            activity_type=rng.choice(ACTIVITY_TYPES), direction=direction)  # fmt: skip
    raw.sort(key=lambda item: item[0])
    instants: dict[int, datetime] = {}
    records = []
    for seq, (second, event_type, rep, team, fields) in enumerate(raw, start=1):
        instant = instants.get(second)
        if instant is None:
            instant = instants[second] = START + timedelta(seconds=second)
        event_id = str(uuid.UUID(int=rng.getrandbits(128)))
        records.append(EventRecord(event_id, event_type, instant, rep, team, seq, **fields))
    return records


def timed(label: str, count: int, work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    seconds = time.perf_counter() - started
    print(f"{label:<48} {seconds:8.3f} s  {count / seconds:>12,.0f} events/s")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--tz", default="Europe/Amsterdam")
    parser.add_argument("--batch", type=int, default=1000, help="micro-batch size, live path")
    parser.add_argument("--live-events", type=int, default=100_000, help="events of the live path")
    args = parser.parse_args()
    tz = ZoneInfo(args.tz)

    started = time.perf_counter()
    records = synthetic_log(args.events)
    activities = [r for r in records if r.event_type == "activity.logged"]
    took = time.perf_counter() - started
    print(f"generated {len(records):,} records ({len(activities):,} activities) in {took:.1f} s")

    def baseline() -> None:
        per_day: dict = {}
        for record in records:
            day = record.occurred_at.astimezone(tz).date()
            per_day[day] = per_day.get(day, 0) + 1

    base = timed("baseline: count records per local day", len(records), baseline)
    timed("engine.apply, activities only", len(activities),
          lambda: KpiEngine(DEFAULT_DEFINITION, tz).apply(activities))  # fmt: skip

    engine = KpiEngine(DEFAULT_DEFINITION, tz)
    apply = timed("engine.apply, whole log", len(records), lambda: engine.apply(records))
    rows: list = []
    read = timed("engine.rows(), first read (folds everything)", len(records),
                 lambda: rows.extend(engine.rows()))  # fmt: skip
    again = timed("engine.rows(), second read", len(records), engine.rows)
    print(f"{len(rows):,} rows; apply = {apply / base:.2f} x baseline; ", end="")
    print(f"apply + rows = {(apply + read) / base:.2f} x baseline; second read {again:.2f} s")

    live = KpiEngine(DEFAULT_DEFINITION, tz)
    head, tail = records[: -args.live_events], records[-args.live_events :]
    live.apply(head)
    live.take_changes()
    batches = [tail[i : i + args.batch] for i in range(0, len(tail), args.batch)]
    changed = 0
    latencies: list[float] = []

    def micro_batches() -> None:
        nonlocal changed
        for batch in batches:
            started = time.perf_counter()
            live.apply(batch)
            upserts, deletes = live.take_changes()
            latencies.append((time.perf_counter() - started) * 1000)
            changed += len(upserts) + len(deletes)

    label = f"live: {len(batches)} batches of {args.batch} + take_changes"
    timed(label, len(tail), micro_batches)
    latencies.sort()
    median, p90 = latencies[len(latencies) // 2], latencies[len(latencies) * 9 // 10]
    print(f"live: per batch median {median:.1f} ms, p90 {p90:.1f} ms, ", end="")
    print(f"max {latencies[-1]:.1f} ms; ", end="")
    print(f"{changed / len(batches):.0f} changed rows per batch")
    same = {r.key: r.value for r in live.rows()} == {r.key: r.value for r in rows}
    print("live rows == bulk rows" if same else "LIVE ROWS DIFFER FROM BULK ROWS")


if __name__ == "__main__":
    main()
