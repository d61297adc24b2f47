"""Benchmark of the KPI engine on a synthetic raw log (not part of the test suite).

    python bench/engine_bench.py [--events 1000000] [--tz Europe/Amsterdam] [--batch 1000]

Generates the records in-process (50 reps in 10 teams, one year, mostly activity.logged, plus
leads, deals with their stage and amount changes, churn), in raw-log order (by occurred_at,
seq = position), then prints events/s of:
- baseline: a plain loop that only counts records per local day (astimezone + dict bump);
- apply(): the bulk apply of the whole log, and its ratio to the baseline;
- rows(): the first read of every row (where the per-entity work is folded into rows);
- the live path: the last part of the log re-run on a fresh engine in micro-batches with a
  take_changes() after each, as the worker does.
"""

from __future__ import annotations

import argparse
import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from projections.definitions import DEFAULT_DEFINITION
from projections.engine import KpiEngine
from projections.records import EventRecord

ACTIVITY_TYPES = (
    ["call"] * 5 + ["email"] * 4 + ["voicemail", "linkedin_message", "meeting", "intake", "demo"]
)
STAGES = ["prospect", "qualified", "meeting", "proposal", "negotiation"]
START = datetime(2026, 1, 1, tzinfo=UTC)
YEAR_SECONDS = 365 * 86400


def synthetic_log(n: int, seed: int = 7) -> list[EventRecord]:
    """About n records: 90% activities, 3% lead events, 6.5% deal events, a little churn."""
    rng = random.Random(seed)
    reps = [(f"rep-{i:02d}", f"team-{i % 10}") for i in range(50)]
    raw: list[tuple[int, dict]] = []  # (second of the year, fields)

    def at() -> int:
        return rng.randrange(YEAR_SECONDS)

    n_deals = n // 100  # ~6.5 events each
    n_leads = n // 70  # ~2 events each
    for d in range(n_deals):
        rep, team = rng.choice(reps)
        t = at()
        deal = f"deal-{d}"
        kind = rng.choice(["new_business", "new_business", "upsell", "renewal"])
        raw.append(
            (
                t,
                dict(
                    event_type="deal.opened",
                    deal_id=deal,
                    customer_id=f"cust-{d % (n_deals // 2 + 1)}",
                    deal_kind=kind,
                    product=rng.choice(["enterprise", "basic", "pro"]),
                    amount=Decimal(rng.randrange(1000, 90000)),
                    stage="prospect",
                    rep=rep,
                    team=team,
                ),
            )
        )
        stage = "prospect"
        for next_stage in STAGES[1 : rng.randrange(2, 6)]:
            t += rng.randrange(3600, 20 * 86400)
            raw.append(
                (
                    t,
                    dict(
                        event_type="deal.stage_changed",
                        deal_id=deal,
                        from_stage=stage,
                        to_stage=next_stage,
                        rep=rep,
                        team=team,
                    ),
                )
            )
            stage = next_stage
        if rng.random() < 0.5:
            t += rng.randrange(3600, 10 * 86400)
            raw.append(
                (
                    t,
                    dict(
                        event_type="deal.amount_changed",
                        deal_id=deal,
                        amount=Decimal(rng.randrange(1000, 90000)),
                        rep=rep,
                        team=team,
                    ),
                )
            )
        if rng.random() < 0.7:
            t += rng.randrange(3600, 30 * 86400)
            raw.append(
                (
                    t,
                    dict(
                        event_type="deal.stage_changed",
                        deal_id=deal,
                        from_stage=stage,
                        to_stage=rng.choice(["won", "won", "lost"]),
                        rep=rep,
                        team=team,
                    ),
                )
            )
    for lead in range(n_leads):
        rep, team = rng.choice(reps)
        t = at()
        raw.append((t, dict(event_type="lead.created", lead_id=f"lead-{lead}", rep=rep, team=team)))
        checklist = {"budget": rng.random() < 0.7, "authority": rng.random() < 0.7, "need": True}
        raw.append(
            (
                t + 86400,
                dict(
                    event_type="lead.qualification_assessed",
                    lead_id=f"lead-{lead}",
                    checklist=checklist,
                    rep=rep,
                    team=team,
                ),
            )
        )
    for c in range(n_deals // 20):
        rep, team = rng.choice(reps)
        raw.append(
            (
                at(),
                dict(
                    event_type="customer.churned", customer_id=f"cust-{c * 7}", rep=rep, team=team
                ),
            )
        )
    for _ in range(max(0, n - len(raw))):
        rep, team = rng.choice(reps)
        raw.append(
            (
                at(),
                dict(
                    event_type="activity.logged",
                    activity_type=rng.choice(ACTIVITY_TYPES),
                    direction="outbound" if rng.random() < 0.8 else "inbound",
                    rep=rep,
                    team=team,
                ),
            )
        )
    raw.sort(key=lambda item: item[0])
    instants: dict[int, datetime] = {}
    records = []
    for seq, (second, fields) in enumerate(raw, start=1):
        instant = instants.get(second)
        if instant is None:
            instant = instants[second] = START + timedelta(seconds=second)
        rep, team = fields.pop("rep"), fields.pop("team")
        records.append(
            EventRecord(
                event_id=str(uuid.UUID(int=rng.getrandbits(128))),
                occurred_at=instant,
                rep_id=rep,
                team_id=team,
                seq=seq,
                **fields,
            )
        )
    return records


def timed(label: str, count: int, fn) -> float:
    started = time.perf_counter()
    fn()
    seconds = time.perf_counter() - started
    print(f"{label:<44} {seconds:8.3f} s  {count / seconds:>12,.0f} events/s")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--tz", default="Europe/Amsterdam")
    parser.add_argument("--batch", type=int, default=1000, help="micro-batch size of the live path")
    parser.add_argument(
        "--live-events", type=int, default=100_000, help="events re-run in micro-batches"
    )
    args = parser.parse_args()
    tz = ZoneInfo(args.tz)

    started = time.perf_counter()
    records = synthetic_log(args.events)
    activities = sum(r.event_type == "activity.logged" for r in records)
    took = time.perf_counter() - started
    print(f"generated {len(records):,} records ({activities:,} activities) in {took:.1f} s")

    def baseline() -> None:
        per_day: dict = {}
        for record in records:
            day = record.occurred_at.astimezone(tz).date()
            per_day[day] = per_day.get(day, 0) + 1

    base = timed("baseline: count records per local day", len(records), baseline)
    engine = KpiEngine(DEFAULT_DEFINITION, tz)
    apply = timed("engine.apply (bulk, whole log)", len(records), lambda: engine.apply(records))
    rows: list = []
    read = timed(
        "engine.rows() (first read: folds everything)",
        len(records),
        lambda: rows.extend(engine.rows()),
    )
    again = timed("engine.rows() (second read)", len(records), lambda: engine.rows())
    print(f"{len(rows):,} rows; apply = {apply / base:.2f} x baseline; ", end="")
    print(f"apply + rows = {(apply + read) / base:.2f} x baseline; second rows() {again:.2f} s")

    live = KpiEngine(DEFAULT_DEFINITION, tz)
    head, tail = records[: -args.live_events], records[-args.live_events :]
    live.apply(head)
    live.take_changes()
    batches = [tail[i : i + args.batch] for i in range(0, len(tail), args.batch)]
    changed = [0]

    def micro_batches() -> None:
        for batch in batches:
            live.apply(batch)
            upserts, deletes = live.take_changes()
            changed[0] += len(upserts) + len(deletes)

    live_seconds = timed(
        f"live: {len(batches)} batches of {args.batch} + take_changes", len(tail), micro_batches
    )
    per_batch = live_seconds / len(batches) * 1000
    rows_per_batch = changed[0] / len(batches)
    print(f"live: {per_batch:.1f} ms per batch, {rows_per_batch:.0f} changed rows per batch")
    assert {r.key: r.value for r in live.rows()} == {r.key: r.value for r in rows}, (
        "live and bulk rows differ"
    )
    print("live rows == bulk rows")


if __name__ == "__main__":
    main()
