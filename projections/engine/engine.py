"""The one KPI engine: EventRecords in, KPI rows out. Pure: no I/O, no clock, no globals.

Two paths use it and get the same rows: the live worker applies micro-batches of the raw log in
arrival order and writes `take_changes()`; the bulk rebuild applies the whole raw log and
writes `rows()`. Whatever the batch split, order or duplication, the state after the same set
of events is the same, because every piece of it is order-free:
- activities: counters per (local date, team, rep, type, direction), folded into row sums;
- leads and deals opened: the earliest lead.created, qualifying assessment and deal.opened per
  lead or deal; churn: the earliest per customer;
- deals: each deal's own events, its outcome recomputed (old retracted, new added) on change;
- pipeline, growth and retention: recomputed from that state when it, or the span of local
  dates from the first to the last event, changes.

`apply` only records (deduplicate by event_id, first applied wins; find the local date; keep
the event in its entity); the work of turning that into rows runs once per `rows()` or
`take_changes()`, so a bulk load recomputes each deal once.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from itertools import islice
from operator import itemgetter
from zoneinfo import ZoneInfo

from kpiflow.events import EVENT_TYPES
from kpiflow.projections.catalog import CATALOG
from kpiflow.projections.definitions import Definition
from kpiflow.projections.engine.activities import ACTION_KPIS, ActivityCounter
from kpiflow.projections.engine.aggregates import RatioStore, SlotStore, SumStore
from kpiflow.projections.engine.custom import CustomKpis
from kpiflow.projections.engine.customers import Customers
from kpiflow.projections.engine.deals import DEAL_EVENT_TYPES, NOTHING, DealBook, DealOutcome
from kpiflow.projections.engine.families import Family
from kpiflow.projections.engine.growth import Growth
from kpiflow.projections.engine.leads import FirstEvents, LeadTracker
from kpiflow.projections.engine.medians import MedianStore
from kpiflow.projections.engine.periods import PeriodCalendar
from kpiflow.projections.engine.pipeline_value import PipelineValue
from kpiflow.projections.engine.rows import KpiRow, RowKey, Value, row_from
from kpiflow.projections.engine.seen import SeenIds
from kpiflow.projections.records import EventRecord

ACTIVITY = "activity.logged"
ASSESSED = "lead.qualification_assessed"
CREATED = "lead.created"
OPENED = "deal.opened"
CHURNED = "customer.churned"
KNOWN_TYPES = frozenset(EVENT_TYPES)
EPOCH_DAY = date(1970, 1, 1)

# Activities counted in bulk (the raw log grouped by ClickHouse): (local day number since
# 1970-01-01, team, rep, activity_type, direction, number of activities); with custom activity
# KPIs (`KpiEngine.counts_activity_links`) also (source, lead_id, deal_id) before the number.
ActivityCount = tuple

COUNT_KPIS = (
    *ACTION_KPIS,
    "leads_created",
    "qualified_leads",
    "deals_opened",
    "won_deals",
    "upsells",
    "renewals",
    "core_product_wins",
)
AMOUNT_KPIS = ("won_value", "new_business_value")
MEDIAN_KPIS = tuple(
    name for name in CATALOG if name == "deal_velocity_days" or name.startswith("stage_days:")
)
RATIO_KPIS = ("close_rate",)


class KpiEngine:
    def __init__(self, definition: Definition, tz: ZoneInfo) -> None:
        self.definition = definition
        self.tz = tz
        self._calendar = PeriodCalendar(tz)
        self._seen = SeenIds()
        self._first: date | None = None  # local date of the first event (any type)
        self._last: date | None = None
        self._activities = ActivityCounter(definition)
        self._leads = LeadTracker(definition)
        self._opened = FirstEvents("deals_opened")
        self._deals = DealBook(frozenset(definition.core_products), definition.rates())
        custom = CustomKpis.names_by_value(definition)
        self._sums = SumStore((*COUNT_KPIS, *custom["count"]), (*AMOUNT_KPIS, *custom["amount"]))
        self._medians = MedianStore((*MEDIAN_KPIS, *custom["days"]))
        self._ratios = RatioStore((*RATIO_KPIS, *custom["ratio"]))
        self._pipeline = PipelineValue()
        self._growth = Growth()
        self._customers = Customers()
        self._custom = CustomKpis(definition) if definition.kpis else None
        if self._custom is not None:
            self._custom.bind_firsts({
                "leads_created": self._leads.created,
                "qualified_leads": self._leads.qualified,
                "deals_opened": self._opened,
            })  # fmt: skip
        self._custom_activities = self._custom.activities if self._custom else None
        pipelines = (
            tuple(self._custom.deals.pipelines.values())
            if self._custom and self._custom.deals
            else ()
        )
        self._stores: tuple[SlotStore, ...] = (self._sums, self._medians, self._ratios)
        self._families: tuple[Family, ...] = (
            self._pipeline,
            *pipelines,
            self._growth,
            self._customers,
        )
        self._custom_pipelines = pipelines
        self._emitted: dict[RowKey, Value] = {}
        self._coaching: dict[str, DealOutcome] = {}  # deals whose coaching facts changed
        self._applied = 0  # calls that took in events
        self._flushed_at = -1  # _applied at the last flush: nothing new, nothing to fold

    @property
    def event_count(self) -> int:
        """Distinct events applied (duplicates by event_id not counted)."""
        return len(self._seen)

    def apply(self, records: Iterable[EventRecord]) -> None:
        """Take in records, any batch size and order; a repeated event_id is ignored."""
        self._applied += 1
        it = iter(records)
        while chunk := list(islice(it, 8192)):
            self._apply_new(chunk, self._seen.add_all([r.event_id for r in chunk]))

    def claim(self, event_ids: list[str]) -> list[bool]:
        """The deduplication step of `apply` alone, for a caller that applies the batch in
        parts: remembers the ids, and says per id whether it is the first copy (in this order).
        The events must then be taken in: `apply_claimed` of their records with these flags,
        or `apply_activity_counts` of activities whose flags were all True."""
        return self._seen.add_all(event_ids)

    def apply_claimed(self, records: list[EventRecord], first: list[bool]) -> None:
        """Apply records whose ids `claim` took, skipping those that were not first copies."""
        self._applied += 1
        self._apply_new(records, first)

    def _apply_new(self, records: list[EventRecord], new: list[bool]) -> None:
        hour_dates = self._calendar.hour_dates
        local_date = self._calendar.local_date
        pending = self._activities.pending
        custom_activities = self._custom_activities
        for record, first in zip(records, new, strict=True):
            if not first:
                continue
            if record.event_type == ACTIVITY:  # the hot path: one counter bump
                instant = record.occurred_at
                day = hour_dates.get(instant.timestamp() // 3600)
                if not day:
                    day = local_date(instant)
                key = (day, record.team_id, record.rep_id, record.activity_type, record.direction)
                pending[key] = pending.get(key, 0) + 1
                if custom_activities is not None:
                    custom_activities.add(record, day)
            else:
                self._apply_entity_event(record)

    @property
    def counts_activity_links(self) -> bool:
        """Whether bulk activity counts must carry (source, lead_id, deal_id): custom KPIs over
        activities filter on them."""
        return self._custom_activities is not None

    def apply_activity_counts(self, counts: Iterable[ActivityCount]) -> None:
        """Take in activities counted in bulk (`ActivityCount` rows), the same as applying each
        activity's record. Their event ids go in with `add_unique_ids`: the caller guarantees
        the activities are distinct and none of them was applied otherwise (projections/bulk.py
        reads every other event as a record)."""
        self._applied += 1
        pending = self._activities.pending
        custom = self._custom_activities
        days: dict[int, date] = {}
        for count in counts:
            number = count[0]
            day = days.get(number)
            if day is None:
                day = days[number] = EPOCH_DAY + timedelta(days=number)
            key = (day, count[1], count[2], count[3], count[4])
            n = count[-1]
            pending[key] = pending.get(key, 0) + n
            if custom is not None:
                custom.add_count(count[6], count[7], (*key, count[5]), n)

    def offset_changes(self, first_us: int, last_us: int) -> tuple[list[int], list[int]]:
        """The reporting zone's UTC offsets over a span, for local dates computed in bulk
        (`PeriodCalendar.offset_changes`)."""
        return self._calendar.offset_changes(first_us, last_us)

    def add_unique_ids(self, hi, lo, others: list[str]) -> None:
        """Remember event ids of events taken in by `apply_activity_counts` (canonical UUIDs as
        their two 64-bit halves, see `SeenIds`)."""
        self._applied += 1
        self._seen.add_unique(hi, lo, others)

    def _apply_entity_event(self, record: EventRecord) -> None:
        event_type = record.event_type
        if event_type not in KNOWN_TYPES:
            return  # not a v1 event: counted in event_count, ignored by every KPI
        day = self._calendar.local_date(record.occurred_at)
        self._extend(day, day)
        if event_type in DEAL_EVENT_TYPES:
            self._deals.add(record, day)
            if event_type == OPENED and record.deal_id:
                self._opened.offer(record.deal_id, record, day)
                if self._custom is not None:
                    self._custom.attrs.deal_opened(record)
        elif event_type == ASSESSED:
            self._leads.assessed(record, day)
        elif event_type == CREATED:
            self._leads.created_event(record, day)
            if self._custom is not None:
                self._custom.attrs.lead_created(record)
        elif event_type == CHURNED:
            self._customers.churned(record, day)

    def terminal_at(self, deal_id: str) -> datetime | None:
        """occurred_at of the deal's first won/lost stage change known so far, if any."""
        return self._deals.terminal_at(deal_id)

    def rows(self) -> list[KpiRow]:
        """Every current row of every KPI, sorted by key (kpi, grain, period, dimension)."""
        self._flush()
        keyed: list[tuple[RowKey, Value]] = [
            ((kpi, *slot), value) for store in self._stores for kpi, slot, value in store.items()
        ]
        for family in self._families:
            keyed.extend(family.items())
        keyed.sort(key=itemgetter(0))
        return [row_from(key, value) for key, value in keyed]

    def take_changes(self) -> tuple[list[KpiRow], list[RowKey]]:
        """Rows whose value changed since the last call, and keys of rows that disappeared."""
        self._flush()
        emitted = self._emitted
        upserts: list[tuple[RowKey, Value]] = []
        deletes: list[RowKey] = []

        def compare(key: RowKey, value: Value | None) -> None:
            if value is None:
                if emitted.pop(key, None) is not None:
                    deletes.append(key)
            elif key not in emitted or emitted[key] != value:
                emitted[key] = value
                upserts.append((key, value))

        for store in self._stores:
            for kpi, slot in store.take_dirty():
                compare((kpi, *slot), store.value(kpi, slot))
        for family in self._families:
            for key in family.take_changed():
                compare(key, family.get(key))
        upserts.sort(key=itemgetter(0))
        deletes.sort()
        return [row_from(key, value) for key, value in upserts], deletes

    def take_coaching(self) -> list[tuple[str, DealOutcome]]:
        """Deals whose coaching facts (ended stays, the close) changed since the last call, with
        their outcome now, sorted by deal id. Per rep, so never KPI rows: the projector keeps
        them in `coaching_deals`, read one rep at a time (docs/coaching.md)."""
        self._flush()
        taken = sorted(self._coaching.items())
        self._coaching = {}
        return taken

    def _extend(self, first: date, last: date) -> None:
        if self._first is None or first < self._first:
            self._first = first
        if self._last is None or last > self._last:
            self._last = last

    def _flush(self) -> None:
        """Turn what apply recorded into row state: sums, multisets, families. Only `apply`
        changes what there is to fold, so a flush with no event applied since the last one
        (take_changes then take_coaching, a second rows()) has nothing to do."""
        if self._flushed_at == self._applied:
            return
        self._flushed_at = self._applied
        span = self._activities.flush(self._calendar, self._sums)
        if span is not None:
            self._extend(*span)
        firsts = self._leads.flush(self._calendar, self._sums)
        firsts["deals_opened"] = self._opened.flush(self._calendar, self._sums)
        changed_deals: set[str] = set()
        coaching = self._coaching
        for deal_id, old, new in self._deals.changes():
            self._count_deal(old, -1)
            self._count_deal(new, 1)
            changed_deals.add(deal_id)
            if old.stays != new.stays or old.close != new.close:
                coaching[deal_id] = new
        if self._custom is not None:
            self._flush_custom(self._custom, firsts, changed_deals)
        self._pipeline.refresh(self._first, self._last)
        for pipeline in self._custom_pipelines:
            pipeline.refresh(self._first, self._last)
        self._growth.refresh(self._first, self._last)
        self._customers.refresh(self._first, self._last)

    def _flush_custom(
        self, custom: CustomKpis, firsts: dict[str, set[str]], changed_deals: set[str]
    ) -> None:
        calendar, attrs = self._calendar, custom.attrs
        if custom.activities is not None:
            custom.activities.flush(attrs, calendar, self._sums)
        for first in custom.firsts:
            first.flush(firsts[first.base.kpi], attrs, calendar, self._sums)
        if custom.deals is not None:
            stores = (self._sums, self._medians, self._ratios)
            custom.deals.flush(changed_deals, self._deals, attrs, stores, calendar)
        attrs.clear_changes()

    def _count_deal(self, outcome: DealOutcome, sign: int) -> None:
        if outcome is NOTHING:
            return
        calendar = self._calendar
        for kpi, day, team, rep, n, total in outcome.sums:
            signed = total if sign > 0 else -total
            self._sums.add(kpi, calendar.slots(day, team, rep), sign * n, signed)
            if kpi == "new_business_value":
                self._growth.won(calendar.periods(day)[2], team, total, sign)
        for kpi, day, team, days in outcome.medians:
            self._medians.add(kpi, calendar.team_slots(day, team), days, sign)
        for day, team, won in outcome.closes:
            self._ratios.add("close_rate", calendar.team_slots(day, team), sign * won, sign)
        if outcome.pipeline:
            self._pipeline.add(outcome.pipeline, sign)
        if outcome.win is not None:
            self._customers.won(outcome.customer, outcome.win, sign)
