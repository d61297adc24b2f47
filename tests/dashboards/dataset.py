"""A small hand-made data set that every dashboard panel has something to show for.

Three teams (one with a quote in its id, to exercise quoting), five reps, KPI rows of every
catalog KPI at its grains and dimensions, raw events of every type around "now" (taken from
ClickHouse itself, as the SQL under test uses now()/today()), one definition promotion, and a
quarter plan for the current quarter stored through `projections.plans` (so `kpi_pacing` and
the plan tables are the real ones of the migrations).
"""

from __future__ import annotations

import hashlib
import textwrap
import uuid
from datetime import UTC, date, datetime, timedelta

from kpiflow.projections.catalog import CATALOG
from kpiflow.projections.engine.deals import Close, DealOutcome, Stay
from kpiflow.projections.rawlog import RAW_COLUMNS
from kpiflow.projections.writer import KPI_ROW_COLUMNS, RevisionClock, write_coaching

TEAMS = {"north": ("n1", "n2"), "south": ("s1", "s2"), "west's": ("w'1",)}
REPS = tuple(rep for reps in TEAMS.values() for rep in reps)
TEAM_OF = {rep: team for team, reps in TEAMS.items() for rep in reps}
ACTIVITY_TYPES = ("call", "email", "meeting", "voicemail", "linkedin_message", "intake", "demo")

KPI_COLUMNS = KPI_ROW_COLUMNS


def _noise(*parts: object) -> float:
    """Deterministic value in [0, 1) from the parts."""
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32


def _periods(grain: str, today: date) -> list[date]:
    if grain == "day":
        return [today - timedelta(days=n) for n in range(100)]
    if grain == "week":
        monday = today - timedelta(days=today.weekday())
        return [monday - timedelta(weeks=n) for n in range(30)]
    if grain == "month":
        out, year, month = [], today.year, today.month
        for _ in range(27):
            out.append(date(year, month, 1))
            year, month = (year, month - 1) if month > 1 else (year - 1, 12)
        return out
    start_month = 3 * ((today.month - 1) // 3) + 1
    out, year, month = [], today.year, start_month
    for _ in range(9):
        out.append(date(year, month, 1))
        year, month = (year, month - 3) if month > 3 else (year - 1, month + 9)
    return out


def _value(kpi: str, grain: str, period: date, dimension: str) -> float:
    spec = CATALOG[kpi]
    r = _noise(kpi, grain, period, dimension)
    scale = {"day": 1, "week": 5, "month": 21, "quarter": 63}[grain]
    if spec.value_type == "count":
        return float(int(1 + 20 * r) * scale)
    if spec.value_type == "amount":
        return round(1000 + 50000 * r * scale, 2)
    if spec.value_type == "days":
        return round(1 + 30 * r, 2)
    if kpi.startswith("new_business_growth"):
        return round(-0.5 + 1.3 * r, 4)
    return round(0.5 + 0.5 * r, 4)  # close_rate, retention_rate


def kpi_rows(today: date) -> list[list[object]]:
    rows = []
    for name, spec in CATALOG.items():
        dimensions = [("all", "all"), *(("team", t) for t in TEAMS)]
        if "rep" in spec.dimensions:
            dimensions += [("rep", r) for r in REPS]
        for grain in spec.grains:
            for period in _periods(grain, today):
                for kind, dimension in dimensions:
                    rows.append(
                        [
                            1,
                            name,
                            grain,
                            period,
                            kind,
                            dimension,
                            _value(name, grain, period, dimension),
                            1,
                            0,
                        ]
                    )
    return rows


def coaching_deals(today: date) -> list[tuple[str, DealOutcome]]:
    """Per rep, six deals whose stays and closes fall in the last 60 days (version 1)."""
    out = []
    stages = ("prospect", "qualified", "meeting", "proposal", "negotiation")
    for i, rep in enumerate(REPS):
        team = TEAM_OF[rep]
        for n in range(6):
            day = today - timedelta(days=2 + 9 * n + i)
            won = (n + i) % 3 != 0
            stays = tuple(
                Stay(
                    stage,
                    day - timedelta(days=5 - k),
                    team,
                    rep,
                    1.0 + _noise(rep, n, k) * 9,
                    "forward" if k < 4 or won else "lost",
                )
                for k, stage in enumerate(stages)
            )
            close = Close(day, team, rep, won, 10.0 + 20 * _noise(rep, n) if won else None)
            out.append((f"deal-{rep}-{n}", DealOutcome(stays=stays, close=close)))
    return out


def raw_events(now: datetime) -> list[list[object]]:
    rows: list[list[object]] = []
    offset = 0

    def add(at: datetime, event_type: str, rep: str, **fields: str) -> None:
        nonlocal offset
        offset += 1
        row: dict[str, object] = {c: "" for c in RAW_COLUMNS}
        row.update(
            checklist={},
            channel="",
            event_id=str(uuid.UUID(int=offset)),
            event_type=event_type,
            schema_version=1,
            occurred_at=at,
            source="test",
            rep_id=rep,
            team_id=TEAM_OF[rep],
            payload="{}",
            topic="sales.events",
            partition=0,
            offset=offset,
            **fields,
        )
        rows.append([row[c] for c in RAW_COLUMNS])

    for i, rep in enumerate(REPS):
        # activities: one every 6 hours for 100 days, and one just now (the current period)
        for n in range(400):
            kind = ACTIVITY_TYPES[(n + i) % len(ACTIVITY_TYPES)]
            add(
                now - timedelta(hours=6 * n + i),
                "activity.logged",
                rep,
                activity_type=kind,
                direction="outbound" if n % 3 else "inbound",
            )
        add(
            now - timedelta(seconds=30),
            "activity.logged",
            rep,
            activity_type="call",
            direction="outbound",
        )
        # leads
        add(now - timedelta(days=20), "lead.created", rep, lead_id=f"lead-{rep}")
        add(now - timedelta(days=19), "lead.qualification_assessed", rep, lead_id=f"lead-{rep}")
        # deals: opened 60..30 days ago; one won, one lost, two still open
        for d in range(4):
            deal = f"deal-{rep}-{d}"
            opened = now - timedelta(days=60 - 10 * d)
            add(
                opened,
                "deal.opened",
                rep,
                deal_id=deal,
                customer_id=f"cust-{rep}-{d}",
                deal_kind=("new_business", "upsell", "renewal", "new_business")[d],
                product="enterprise",
                amount=f"{10000 + 1000 * d}.00",
                currency="EUR" if d != 3 else "USD",
                stage="qualified",
            )
            add(
                opened + timedelta(days=5),
                "deal.stage_changed",
                rep,
                deal_id=deal,
                from_stage="qualified",
                to_stage="proposal",
            )
            add(
                opened + timedelta(days=7),
                "deal.amount_changed",
                rep,
                deal_id=deal,
                amount=f"{12000 + 1000 * d}.50",
                currency="EUR" if d != 3 else "USD",
            )
            if d == 0:
                add(
                    opened + timedelta(days=20),
                    "deal.stage_changed",
                    rep,
                    deal_id=deal,
                    from_stage="proposal",
                    to_stage="won",
                )
            if d == 1:
                add(
                    opened + timedelta(days=25),
                    "deal.stage_changed",
                    rep,
                    deal_id=deal,
                    from_stage="proposal",
                    to_stage="lost",
                )
        add(
            now - timedelta(days=3),
            "customer.churned",
            rep,
            customer_id=f"cust-{rep}-0",
            reason="budget",
        )
    return rows


def quarter_of(day: date) -> tuple[str, date]:
    number = (day.month - 1) // 3 + 1
    return f"{day.year}-Q{number}", date(day.year, 3 * number - 2, 1)


def plan_text(today: date) -> str:
    """A plan for the current quarter: won_value is the Master KPI; north is on track, the
    default team target is out of reach (so the 'behind pace' alert has rows)."""
    quarter, start = quarter_of(today)
    text = textwrap.dedent(f"""
        quarter: {quarter}
        focus:
          - kpi: won_value
            master: true
            targets:
              all: 1000
              team: 1000000000000
              teams:
                north: 10
          - kpi: activity_points
            targets:
              team: 500
              rep: 100
          - kpi: close_rate
            targets:
              team: 0.3
        review:
          rhythm: weekly
          day: fri
        reward: Team dinner
    """).lstrip("\n")
    first, recent = start + timedelta(days=1), today - timedelta(days=2)
    changes = []
    if first <= today:
        changes.append(
            f"  - date: {first.isoformat()}\n    reason: more pipeline\n"
            "    targets:\n      activity_points:\n        team: 600\n"
        )
    if recent > first:  # one inside the wallboard's 7 days
        changes.append(
            f"  - date: {recent.isoformat()}\n    reason: calls first\n"
            "    targets:\n      activity_points:\n        rep: 120\n"
        )
    if changes:
        text += "changes:\n" + "".join(changes)
    return text


def populate(store) -> dict[str, object]:
    """Fill a migrated store; returns what the tests need to know (now, today)."""
    from kpiflow.projections.plans import parse_plan_text
    from kpiflow.projections.plans.storage import apply_plan

    clock = store.rows("SELECT toUnixTimestamp(now()) AS now, toString(today()) AS today")[0]
    now = datetime.fromtimestamp(int(clock["now"]), tz=UTC)
    today = date.fromisoformat(clock["today"])
    store.insert("kpi_rows", kpi_rows(today), KPI_COLUMNS)
    store.insert("live_version", [["live", 1, 1]], ["name", "version", "revision"])
    store.insert("raw_event_log", raw_events(now), RAW_COLUMNS)
    store.insert(
        "promotions",
        [[now - timedelta(days=5), 1, 1, "re-promoted after a replay"]],
        ["promoted_at", "from_version", "to_version", "note"],
    )
    apply_plan(store, parse_plan_text(plan_text(today)))
    write_coaching(store, 1, coaching_deals(today), [], RevisionClock())
    # the plan's Master KPI (won_value) is reached by the organisation and by north: the
    # celebration banner, annotation and alert have rows
    from zoneinfo import ZoneInfo

    from kpiflow.projections.achievements import record_reached

    record_reached(store, ZoneInfo("UTC"), now - timedelta(minutes=2))
    return {"now": now, "today": today, "teams": sorted(TEAMS), "reps": sorted(REPS)}
