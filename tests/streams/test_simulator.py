"""The simulator: deterministic, valid against the v1 contract, realistic enough to trust."""

from __future__ import annotations

import itertools
import json
import random
import uuid
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from kpiflow.errors import ConfigError
from kpiflow.events import EVENT_TYPES, InvalidEvent, parse_event
from kpiflow.events.activities import ACTIVITY_TYPES
from kpiflow.streams.simulator import (
    OrgConfig,
    estimate_events,
    previous_quarter_start,
    simulate_history,
    simulate_live,
    with_noise,
)
from kpiflow.streams.simulator.ids import uuid4_text
from kpiflow.streams.simulator.noise import CORRUPTIONS, corrupt

STAGE_ORDER = ("prospect", "qualified", "meeting", "proposal", "negotiation")
TERMINAL = ("won", "lost")
CFG = OrgConfig(start=date(2026, 7, 1))  # Q3 2026: 3 teams x 4 reps, 91 days, Europe/Amsterdam


@pytest.fixture(scope="module")
def history() -> list[dict]:
    return list(simulate_history(CFG))


def at(event: dict) -> datetime:
    return datetime.fromisoformat(event["occurred_at"])


def by_type(events, event_type: str) -> list[dict]:
    return [e for e in events if e["event_type"] == event_type]


def deal_timelines(events) -> dict[str, list[dict]]:
    timelines = defaultdict(list)
    for event in events:
        if event["event_type"].startswith("deal."):
            timelines[event["deal_id"]].append(event)
    return timelines


# ---- determinism --------------------------------------------------------------------------------


def test_same_config_same_events(history):
    assert list(simulate_history(CFG)) == history


def test_other_seed_other_events(history):
    other = list(simulate_history(OrgConfig(start=CFG.start, seed=CFG.seed + 1)))
    assert other != history
    assert not {e["event_id"] for e in other} & {e["event_id"] for e in history}


def test_activity_rate_changes_activities_only(history):
    """Leads, deals and customers have their own random stream: tuning the rate keeps them."""
    quieter = list(simulate_history(OrgConfig(start=CFG.start, activity_per_rep_per_day=5)))

    def pipeline(events):
        return [
            {k: v for k, v in e.items() if k != "event_id"}
            for e in events
            if e["event_type"] != "activity.logged"
        ]

    assert pipeline(quieter) == pipeline(history)
    assert len(by_type(quieter, "activity.logged")) < len(by_type(history, "activity.logged")) / 3


def test_uuid_text_is_uuid_module_v4():
    rng = random.Random(3)
    for bits in [0, (1 << 128) - 1, *(rng.getrandbits(128) for _ in range(500))]:
        assert uuid4_text(bits) == str(uuid.UUID(int=bits, version=4))


# ---- contract -----------------------------------------------------------------------------------


def test_every_event_validates(history):
    for event in history:
        parsed = parse_event(json.dumps(event), CFG.currency)
        assert parsed.source == "simulator"
        assert uuid.UUID(event["event_id"]).version == 4
    assert len({e["event_id"] for e in history}) == len(history)


def test_every_event_and_activity_type_present(history):
    assert {e["event_type"] for e in history} == set(EVENT_TYPES)
    activities = by_type(history, "activity.logged")
    assert {e["activity_type"] for e in activities} == set(ACTIVITY_TYPES)
    directions = Counter(e.get("direction", "outbound") for e in activities)
    assert 0.1 < directions["inbound"] / len(activities) < 0.3  # mostly outbound
    assert any("direction" not in e for e in activities)  # the contract's default is exercised
    types = Counter(e["activity_type"] for e in activities)
    assert types["call"] > types["meeting"] > types["intake"] > 0
    for ref in ("deal_id", "lead_id", "customer_id"):
        assert 0.02 < sum(ref in e for e in activities) / len(activities) < 0.3


def test_leads_channels_and_checklists(history):
    channels = {e["channel"] for e in by_type(history, "lead.created")}
    assert {"inbound-web", "outbound-list", "referral"} <= channels
    assert any(c.startswith("trade-show:") for c in channels)
    assessments = defaultdict(list)
    for e in by_type(history, "lead.qualification_assessed"):
        assessments[e["lead_id"]].append(e["checklist"])
    criteria = {name for checks in assessments.values() for c in checks for name in c}
    assert criteria == {"budget", "authority", "need", "timing", "icp_industry"}
    reassessed = [checks for checks in assessments.values() if len(checks) > 1]
    assert reassessed
    for first, later in (checks[:2] for checks in reassessed):
        assert sum(later.values()) >= sum(first.values())
        assert all(later[k] for k, v in first.items() if v)  # what was true stays true
    assert any(sum(c[1].values()) > sum(c[0].values()) for c in reassessed)


def test_deals_from_leads_follow_a_qualifying_assessment(history):
    created = {e["lead_id"]: at(e) for e in by_type(history, "lead.created")}
    qualified = {}
    for e in by_type(history, "lead.qualification_assessed"):
        if all(e["checklist"].get(k) for k in ("budget", "authority", "need")):
            qualified.setdefault(e["lead_id"], at(e))
    from_leads = [e for e in by_type(history, "deal.opened") if "lead_id" in e]
    assert from_leads
    for deal in from_leads:
        assert deal["deal_kind"] == "new_business"
        assert created[deal["lead_id"]] < qualified[deal["lead_id"]] < at(deal)


def test_deal_kinds_products_and_outcomes(history):
    opened = by_type(history, "deal.opened")
    assert {e["deal_kind"] for e in opened} == {"new_business", "upsell", "renewal"}
    assert {"enterprise", "pro", "starter"} <= {e["product"] for e in opened}
    assert all(
        e["currency"] == CFG.currency for e in opened + by_type(history, "deal.amount_changed")
    )
    ends = Counter()
    for events in deal_timelines(history).values():
        last = events[-1]
        ends[last.get("to_stage") if last.get("to_stage") in TERMINAL else "open"] += 1
    assert ends["won"] and ends["lost"] and ends["open"]
    # Upsells and renewals are for existing customers: won before the window, or won in it.
    timelines = deal_timelines(history)
    prospects = {e["customer_id"]: e["deal_id"] for e in opened if e["deal_kind"] == "new_business"}
    later_deals = [e for e in opened if e["deal_kind"] != "new_business"]
    assert {e["deal_kind"] for e in later_deals} == {"upsell", "renewal"}
    for deal in later_deals:
        if deal["customer_id"] in prospects:
            first = timelines[prospects[deal["customer_id"]]][-1]
            assert first.get("to_stage") == "won" and at(first) < at(deal)


def test_deals_never_move_after_won_or_lost(history):
    for deal_id, events in deal_timelines(history).items():
        assert events[0]["event_type"] == "deal.opened", deal_id
        terminal = [i for i, e in enumerate(events) if e.get("to_stage") in TERMINAL]
        assert len(terminal) <= 1, deal_id
        if terminal:
            assert terminal[0] == len(events) - 1, deal_id  # nothing after won/lost


def test_stage_order_is_respected(history):
    skipped = 0
    for deal_id, events in deal_timelines(history).items():
        stage = events[0]["stage"]
        assert stage in STAGE_ORDER
        times = [at(e) for e in events]
        assert times == sorted(times) and len(set(times)) == len(times), deal_id
        for change in by_type(events, "deal.stage_changed"):
            assert change["from_stage"] == stage, deal_id
            to = change["to_stage"]
            if to not in TERMINAL:
                assert STAGE_ORDER.index(to) > STAGE_ORDER.index(stage), deal_id
                skipped += STAGE_ORDER.index(to) - STAGE_ORDER.index(stage) > 1
            stage = to
    assert skipped  # deals can skip stages


def test_amounts_change_and_stay_valid(history):
    changes = by_type(history, "deal.amount_changed")
    assert changes
    assert any("." in e["amount"] for e in by_type(history, "deal.opened"))  # cents occur


def test_deals_mostly_keep_their_rep(history):
    timelines = deal_timelines(history)
    moved = [d for d, events in timelines.items() if len({e["rep_id"] for e in events}) > 1]
    assert 0 < len(moved) < 0.15 * len(timelines)
    for deal_id in moved:
        reps = [e["rep_id"] for e in timelines[deal_id]]
        assert len({r for r, _ in itertools.groupby(reps)}) == 2  # handed over once, kept after


def test_stable_org_ids(history):
    team_of = {}
    for e in history:
        assert team_of.setdefault(e["rep_id"], e["team_id"]) == e["team_id"]
    assert sorted(team_of) == [f"rep-{n:03d}" for n in range(1, 13)]
    assert team_of["rep-001"] == "team-north" and team_of["rep-012"] == "team-east"
    assert set(team_of.values()) == {"team-north", "team-south", "team-east"}


def test_churn_hits_existing_customers(history):
    churned = [e["customer_id"] for e in by_type(history, "customer.churned")]
    assert churned and len(set(churned)) == len(churned)


# ---- time ---------------------------------------------------------------------------------------


def test_sorted_by_occurred_at(history):
    times = [at(e) for e in history]
    assert all(a <= b for a, b in itertools.pairwise(times))
    assert times[0] >= datetime(2026, 7, 1, tzinfo=ZoneInfo("Europe/Amsterdam"))
    assert times[-1] < datetime(2026, 9, 30, tzinfo=ZoneInfo("Europe/Amsterdam"))


def test_activities_in_local_working_hours(history):
    zone = ZoneInfo(CFG.timezone)
    for e in by_type(history, "activity.logged"):
        local = at(e)
        assert local.utcoffset() == local.astimezone(zone).utcoffset()
        assert 7 <= local.hour < 20


def test_every_rep_busier_on_weekdays(history):
    per_day = defaultdict(Counter)
    for e in by_type(history, "activity.logged"):
        per_day[e["rep_id"]][at(e).date()] += 1
    days = [CFG.start + timedelta(d) for d in range(CFG.days)]
    weekdays = [d for d in days if d.weekday() < 5]
    weekend = [d for d in days if d.weekday() >= 5]
    for rep, counts in per_day.items():
        weekday_mean = sum(counts[d] for d in weekdays) / len(weekdays)
        weekend_mean = sum(counts[d] for d in weekend) / len(weekend)
        assert weekday_mean > 5 * weekend_mean, rep


@pytest.mark.parametrize(
    ("zone", "start", "days"),
    [
        ("Europe/Amsterdam", date(2026, 10, 1), 31),  # back to +01:00 on Sunday 25 October
        ("Europe/Amsterdam", date(2026, 3, 23), 14),  # forward to +02:00 on Sunday 29 March
        ("America/New_York", date(2026, 10, 26), 14),
        ("Asia/Kathmandu", date(2026, 1, 1), 7),
        ("UTC", date(2026, 1, 1), 7),
    ],
)
def test_offsets_follow_the_zone(zone, start, days):
    cfg = OrgConfig(start=start, days=days, timezone=zone, teams=1, reps_per_team=3)
    events = list(simulate_history(cfg))
    times = [at(e) for e in events]
    assert all(a <= b for a, b in itertools.pairwise(times))
    for e, t in zip(events, times, strict=True):
        parse_event(json.dumps(e), cfg.currency)
        assert t.utcoffset() == t.astimezone(ZoneInfo(zone)).utcoffset(), e["occurred_at"]


# ---- sizing -------------------------------------------------------------------------------------


def test_estimate_is_close(history):
    assert abs(estimate_events(CFG) - len(history)) < 0.03 * len(history)


def test_for_target_events_hits_the_target():
    cfg = OrgConfig.for_target_events(60_000, teams=2, reps_per_team=5, start=date(2026, 1, 1))
    assert (cfg.teams, cfg.reps_per_team) == (2, 5)
    count = sum(1 for _ in simulate_history(cfg))
    assert abs(count - 60_000) < 0.02 * 60_000


# ---- config -------------------------------------------------------------------------------------


def test_previous_quarter():
    assert previous_quarter_start(date(2026, 11, 4)) == date(2026, 7, 1)
    assert previous_quarter_start(date(2026, 2, 28)) == date(2025, 10, 1)
    cfg = OrgConfig.quarter_before(date(2026, 11, 4), seed=7)
    assert (cfg.start, cfg.days, cfg.seed) == (date(2026, 7, 1), 92, 7)


@pytest.mark.parametrize(
    "bad",
    [
        {"teams": 0},
        {"reps_per_team": -1},
        {"days": 0},
        {"activity_per_rep_per_day": -1.0},
        {"currency": "eur"},
        {"timezone": "Mars/Olympus"},
        {"start": "2026-07-01"},
    ],
)
def test_bad_config_says_what_is_wrong(bad):
    settings = {"start": date(2026, 7, 1)} | bad
    with pytest.raises(ConfigError):
        OrgConfig(**settings)


def test_start_is_required():
    with pytest.raises(TypeError):
        OrgConfig()


# ---- live ---------------------------------------------------------------------------------------

LIVE_START = datetime(2026, 11, 4, 13, 3, 12, tzinfo=UTC)


def live(n: int, start: datetime = LIVE_START, rate: float = 20.0) -> list[tuple[float, dict]]:
    return list(itertools.islice(simulate_live(CFG, start, rate), n))


def test_live_is_deterministic_and_valid():
    trickle = live(5000)
    assert trickle == live(5000)
    seconds = [s for s, _ in trickle]
    assert all(a < b for a, b in itertools.pairwise(seconds))
    assert 150 < seconds[-1] < 350  # about 20 events per second
    for s, event in trickle:
        parse_event(json.dumps(event), CFG.currency)
        assert at(event) == LIVE_START + timedelta(seconds=s)
    assert set(EVENT_TYPES) - {"customer.churned"} <= {e["event_type"] for _, e in trickle}


def test_live_deals_follow_the_stage_rules():
    timelines = deal_timelines(e for _, e in live(20000))
    assert timelines
    for deal_id, events in timelines.items():
        stage = events[0]["stage"]
        for change in by_type(events, "deal.stage_changed"):
            assert change["from_stage"] == stage
            if stage in TERMINAL:
                pytest.fail(f"{deal_id} moved after {stage}")
            if change["to_stage"] not in TERMINAL:
                assert STAGE_ORDER.index(change["to_stage"]) > STAGE_ORDER.index(stage)
            stage = change["to_stage"]
        assert events[-1]["event_type"] != "deal.amount_changed" or stage not in TERMINAL


def test_live_restart_gets_new_ids():
    first = live(300)
    later = live(300, start=LIVE_START + timedelta(minutes=5))
    assert not {e["event_id"] for _, e in first} & {e["event_id"] for _, e in later}
    deal_ids = lambda trickle: {e["deal_id"] for _, e in trickle if "deal_id" in e}  # noqa: E731
    assert not deal_ids(first) & deal_ids(later)


def test_live_needs_an_aware_start():
    with pytest.raises(ConfigError):
        next(simulate_live(CFG, datetime(2026, 11, 4, 13, 0), 5.0))  # noqa: DTZ001
    with pytest.raises(ConfigError):
        next(simulate_live(CFG, LIVE_START, 0))


# ---- noise --------------------------------------------------------------------------------------


def parses(message) -> bool:
    try:
        parse_event(message if isinstance(message, str) else json.dumps(message), CFG.currency)
    except InvalidEvent:
        return False
    return True


def test_noise_adds_duplicates_and_invalids_and_keeps_every_event(history):
    clean = history[:20000]
    noisy = list(
        with_noise(clean, seed=5, duplicate_rate=0.05, shuffle_window=40, invalid_rate=0.02)
    )
    assert noisy == list(
        with_noise(clean, seed=5, duplicate_rate=0.05, shuffle_window=40, invalid_rate=0.02)
    )
    valid = [m for m in noisy if parses(m)]
    invalid = [m for m in noisy if not parses(m)]
    original = {e["event_id"]: e for e in clean}
    assert all(original[m["event_id"]] == m for m in valid)  # duplicates: same id, same content
    assert set(original) == {m["event_id"] for m in valid}  # nothing lost
    duplicates = len(valid) - len(clean)
    assert 0.04 * len(clean) < duplicates < 0.06 * len(clean)
    assert 0.015 * len(clean) < len(invalid) < 0.025 * len(clean)
    assert any(isinstance(m, str) for m in invalid)  # non-JSON strings
    assert any(
        isinstance(m, dict) and m.get("event_id") in original for m in invalid
    )  # same id as a valid one


def test_noise_reorders_locally_and_delivers_some_late(history):
    clean = history[:20000]
    position = {e["event_id"]: i for i, e in enumerate(clean)}
    noisy = list(
        with_noise(
            clean,
            seed=9,
            duplicate_rate=0,
            shuffle_window=25,
            invalid_rate=0,
            late_rate=0.01,
            late_by=3000,
        )
    )
    assert sorted(noisy, key=lambda e: position[e["event_id"]]) == clean
    shifts = [i - position[e["event_id"]] for i, e in enumerate(noisy)]
    assert any(s < 0 for s in shifts)  # out of order
    late = [s for s in shifts if s > 26]
    assert 0.005 * len(clean) < len(late) < 0.02 * len(clean)


def test_noise_without_noise_is_identity(history):
    clean = history[:2000]
    assert list(with_noise(clean, 1, 0, 0, 0, late_rate=0)) == clean


@pytest.mark.parametrize("name", [name for name, _ in CORRUPTIONS])
def test_every_kind_of_corruption_is_invalid(history, name):
    breakage = dict(CORRUPTIONS)[name]
    rng = random.Random(name)
    samples = {e["event_type"]: e for e in history}.values()
    for event in samples:
        for _ in range(20):
            message = breakage(json.loads(json.dumps(event)), rng)
            assert not parses(message), (name, message)
            assert parses(event)  # the original is untouched


def test_corrupt_leaves_the_original_alone(history):
    event = by_type(history, "lead.qualification_assessed")[0]
    before = json.dumps(event)
    rng = random.Random(0)
    for _ in range(200):
        corrupt(event, rng)
    assert json.dumps(event) == before
