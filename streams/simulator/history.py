"""A window of history, day by day: plan, add activities, sort, stamp, number."""

from __future__ import annotations

from collections.abc import Iterator
from operator import itemgetter
from random import Random
from typing import Any

from kpiflow.streams.simulator.activities import activities_of_day, rep_day_weight
from kpiflow.streams.simulator.clock import DayCalendar, hms_table
from kpiflow.streams.simulator.config import OrgConfig, stream_seed
from kpiflow.streams.simulator.deal_flow import DealFlow
from kpiflow.streams.simulator.ids import uuid4_text
from kpiflow.streams.simulator.org import Org, build_org

_BY_SECOND = itemgetter(0)


def _org(cfg: OrgConfig) -> tuple[Org, DayCalendar, Random]:
    """The org, then the same random stream goes on to the pipeline (not the activity rate)."""
    rng = Random(stream_seed(cfg, "org", with_activity_rate=False))
    return build_org(cfg, rng), DayCalendar(cfg.start, cfg.days, cfg.zone), rng


def build_world(cfg: OrgConfig) -> tuple[Org, DayCalendar, DealFlow]:
    """The org, its calendar and its pipeline before the first day (book of customers seeded)."""
    org, calendar, rng = _org(cfg)
    return org, calendar, DealFlow(cfg, org, calendar, rng)


def simulate_history(cfg: OrgConfig) -> Iterator[dict[str, Any]]:
    """JSON-ready events of `cfg.days` days from `cfg.start`, sorted by `occurred_at`.

    Lazy: one local day is held in memory at a time. Same config, same events (ids included).
    """
    org, calendar, pipeline = build_world(cfg)
    activity_rng = Random(stream_seed(cfg, "activities"))
    id_bits = Random(stream_seed(cfg, "event-ids")).getrandbits
    rate = float(cfg.activity_per_rep_per_day)
    hms = hms_table()
    for day in range(cfg.days):
        items = pipeline.advance(day)
        items.extend(activities_of_day(day, calendar, org, pipeline, activity_rng, rate))
        clock = calendar.clock(day)
        if clock.fast:
            items.sort(key=_BY_SECOND)
            prefix, suffix = clock.prefix, clock.suffix
            for sec, event in items:
                event["event_id"] = uuid4_text(id_bits(128))
                event["occurred_at"] = prefix + hms[sec] + suffix
                yield event
        else:  # the UTC offset changes during this day: exact instants
            items.sort(key=lambda item: clock.key(item[0]))
            for sec, event in items:
                event["event_id"] = uuid4_text(id_bits(128))
                event["occurred_at"] = clock.stamp(sec)
                yield event


def pipeline_event_count(cfg: OrgConfig) -> int:
    """Exact number of lead, deal and customer events (and deal meetings/demos) of the history."""
    _, _, pipeline = build_world(cfg)
    return sum(len(pipeline.advance(day)) for day in range(cfg.days))


def activity_weight(cfg: OrgConfig) -> float:
    """Expected number of activities of the history per unit of `activity_per_rep_per_day`."""
    org, calendar, _ = _org(cfg)
    return rep_day_weight(calendar, org)


def estimate_events(cfg: OrgConfig) -> int:
    """About how many events `simulate_history(cfg)` yields (pipeline exact, activities expected).

    Costs a run of the pipeline alone: a few percent of generating the history.
    """
    return round(pipeline_event_count(cfg) + activity_weight(cfg) * cfg.activity_per_rep_per_day)
