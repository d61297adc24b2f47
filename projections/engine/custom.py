"""Custom KPIs in the engine: each is its base computed over the events that pass its filter.

Attributes belong to the entity and are read from all accepted events (kpis.md): `lead.channel`
is the channel of the lead's first `lead.created`; `deal.kind`, `deal.product`, `deal.source` and
the deal's lead come from the deal's first `deal.opened` ("first" by (occurred_at, seq,
event_id)). When such an event arrives late, or an earlier one arrives after a later one, the
attributes change and every contribution that depends on them is recomputed: the numbers become
what they would have been had every event arrived in order. So the state stays order-free:

- activity bases: per link (the activity's own lead_id, deal_id) a counter of activities by
  (local date, team, rep, type, direction, source), and the attributes it was counted with; a
  link whose attributes change is retracted with the old ones and added with the new ones;
- lead and deal bases: per lead or deal, the contribution counted now (the base's first event,
  or the deal's outcome, when the entity passes the filter); recomputed when the base's value
  for it or its attributes change.

An absent attribute (no such event, or no lead/deal named) matches no condition, not even
`not`. An activity's lead is its own `lead_id`, or, when it names none, the lead of its deal.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from kpiflow.projections.custom import CustomKpi, family_of
from kpiflow.projections.definitions import Definition
from kpiflow.projections.engine.activities import OUTBOUND_TYPES
from kpiflow.projections.engine.aggregates import RatioStore, SumStore
from kpiflow.projections.engine.deals import NOTHING, DealBook, DealOutcome
from kpiflow.projections.engine.leads import First, FirstEvents
from kpiflow.projections.engine.medians import MedianStore
from kpiflow.projections.engine.periods import PeriodCalendar, micros
from kpiflow.projections.engine.pipeline_value import PipelineValue
from kpiflow.projections.records import EventRecord

Getter = Callable[[str], str | None]
Order = tuple[int, int, str]


@dataclass(frozen=True, slots=True)
class DealAttrs:
    kind: str
    product: str
    source: str
    lead_id: str


def deal_field(deal: DealAttrs | None, name: str) -> str | None:
    """`deal.kind`, `deal.product` or `deal.source` of a deal (None: no deal.opened known)."""
    if deal is None:
        return None
    return {"deal.kind": deal.kind, "deal.product": deal.product, "deal.source": deal.source}.get(
        name
    )


class _Predicate:
    """Whether an entity's attributes pass a custom KPI's filter (a class, not a closure, so an
    engine with custom KPIs can be saved in a snapshot)."""

    __slots__ = ("conditions",)

    def __init__(self, custom: CustomKpi) -> None:
        self.conditions = tuple(custom.where.items())

    def __call__(self, get: Getter) -> bool:
        return all(condition.matches(get(name)) for name, condition in self.conditions)


class Attributes:
    """Entity attributes from the first lead.created / deal.opened, and what changed."""

    def __init__(self) -> None:
        self._leads: dict[str, tuple[Order, str]] = {}  # lead -> (order, channel)
        self._deals: dict[str, tuple[Order, DealAttrs]] = {}
        self.deals_of_lead: dict[str, set[str]] = {}
        self.changed_leads: set[str] = set()
        self.changed_deals: set[str] = set()

    @staticmethod
    def _order(record: EventRecord) -> Order:
        return (micros(record.occurred_at), record.seq, record.event_id)

    def lead_created(self, record: EventRecord) -> None:
        if not record.lead_id:
            return
        order, current = self._order(record), self._leads.get(record.lead_id)
        if current is None or order < current[0]:
            self._leads[record.lead_id] = (order, record.channel)
            if current is None or current[1] != record.channel:
                self.changed_leads.add(record.lead_id)

    def deal_opened(self, record: EventRecord) -> None:
        if not record.deal_id:
            return
        order, current = self._order(record), self._deals.get(record.deal_id)
        if current is None or order < current[0]:
            attrs = DealAttrs(record.deal_kind, record.product, record.source, record.lead_id)
            self._deals[record.deal_id] = (order, attrs)
            if current is None or current[1] != attrs:
                self.changed_deals.add(record.deal_id)
                old_lead = current[1].lead_id if current else ""
                if old_lead != attrs.lead_id:
                    if old_lead:
                        self.deals_of_lead[old_lead].discard(record.deal_id)
                    if attrs.lead_id:
                        self.deals_of_lead.setdefault(attrs.lead_id, set()).add(record.deal_id)

    def channel(self, lead_id: str) -> str | None:
        found = self._leads.get(lead_id) if lead_id else None
        return found[1] if found else None

    def deal(self, deal_id: str) -> DealAttrs | None:
        found = self._deals.get(deal_id) if deal_id else None
        return found[1] if found else None

    def deals_affected(self) -> set[str]:
        """Deals whose own attributes or whose lead's channel changed since the last take."""
        out = set(self.changed_deals)
        for lead in self.changed_leads:
            out |= self.deals_of_lead.get(lead, set())
        return out

    def deal_getter(self, deal_id: str) -> Getter:
        attrs = self.deal(deal_id)
        channel = self.channel(attrs.lead_id) if attrs else None

        return lambda name: channel if name == "lead.channel" else deal_field(attrs, name)

    def clear_changes(self) -> None:
        self.changed_leads = set()
        self.changed_deals = set()


# An activity as custom KPIs see it: (local date, team, rep, type, direction, source)
ActKey = tuple[date, str, str, str, str, str]
Link = tuple[str, str]  # (lead_id, deal_id) named by the activity
LinkAttrs = tuple[str | None, DealAttrs | None]  # (lead.channel, the deal's attributes)


class CustomActivities:
    """Custom KPIs over activities, outbound_contacts and activity_points."""

    def __init__(self, kpis: list[tuple[str, CustomKpi]], points: dict[str, int]) -> None:
        self._kpis = [(name, custom.base, _Predicate(custom)) for name, custom in kpis]
        self._points = points
        self.pending: dict[Link, dict[ActKey, int]] = {}
        self._entries: dict[Link, dict[ActKey, int]] = {}
        self._used: dict[Link, LinkAttrs] = {}
        self._by_lead: dict[str, set[Link]] = {}
        self._by_deal: dict[str, set[Link]] = {}

    def add(self, record: EventRecord, day: date) -> None:
        link = (record.lead_id, record.deal_id)
        key = (
            day,
            record.team_id,
            record.rep_id,
            record.activity_type,
            record.direction or "outbound",
            record.source,
        )
        counts = self.pending.get(link)
        if counts is None:
            counts = self.pending[link] = {}
        counts[key] = counts.get(key, 0) + 1

    def add_count(self, lead_id: str, deal_id: str, key: tuple, n: int) -> None:
        """`n` activities of one key at once (a bulk count); `key` as `add` builds it, but with
        the direction as recorded."""
        day, team, rep, activity_type, direction, source = key
        counts = self.pending.get((lead_id, deal_id))
        if counts is None:
            counts = self.pending[(lead_id, deal_id)] = {}
        act = (day, team, rep, activity_type, direction or "outbound", source)
        counts[act] = counts.get(act, 0) + n

    def _resolve(self, link: Link, attrs: Attributes) -> LinkAttrs:
        lead_id, deal_id = link
        deal = attrs.deal(deal_id)
        lead = lead_id or (deal.lead_id if deal else "")
        return attrs.channel(lead), deal

    def flush(self, attrs: Attributes, calendar: PeriodCalendar, sums: SumStore) -> None:
        affected = set(self.pending)
        for lead in attrs.changed_leads:
            affected |= self._by_lead.get(lead, set())
            for deal in attrs.deals_of_lead.get(lead, set()):
                affected |= {link for link in self._by_deal.get(deal, set()) if not link[0]}
        for deal in attrs.changed_deals:
            affected |= self._by_deal.get(deal, set())
        for link in affected:
            new = self._resolve(link, attrs)
            entries = self._entries.get(link)
            if entries is None:
                entries = self._entries[link] = {}
                if link[0]:
                    self._by_lead.setdefault(link[0], set()).add(link)
                if link[1]:
                    self._by_deal.setdefault(link[1], set()).add(link)
            old = self._used.get(link)
            if entries and old != new:
                for key, n in entries.items():
                    self._count(key, old, -n, calendar, sums)
                    self._count(key, new, n, calendar, sums)
            for key, n in self.pending.pop(link, {}).items():
                self._count(key, new, n, calendar, sums)
                entries[key] = entries.get(key, 0) + n
            self._used[link] = new
        self.pending = {}

    def _count(
        self,
        key: ActKey,
        link_attrs: LinkAttrs | None,
        n: int,
        calendar: PeriodCalendar,
        sums: SumStore,
    ) -> None:
        day, team, rep, activity_type, direction, source = key
        channel, deal = link_attrs if link_attrs is not None else (None, None)
        own = {"activity_type": activity_type, "direction": direction, "source": source}

        def get(name: str) -> str | None:
            if name in own:
                return own[name]
            return channel if name == "lead.channel" else deal_field(deal, name)

        for name, base, passes in self._kpis:
            if base == "outbound_contacts" and not (
                activity_type in OUTBOUND_TYPES and direction == "outbound"
            ):
                continue
            if not passes(get):
                continue
            total = n * self._points.get(activity_type, 0) if base == "activity_points" else n
            sums.add(name, calendar.slots(day, team, rep), n, total)


class CustomFirsts:
    """Custom KPIs over leads_created, qualified_leads (by lead) and deals_opened (by deal)."""

    def __init__(self, name: str, custom: CustomKpi, base: FirstEvents) -> None:
        self.name = name
        self.base = base
        self.by_deal = custom.base == "deals_opened"
        self._passes = _Predicate(custom)
        self._counted: dict[str, First] = {}

    def flush(
        self, changed: set[str], attrs: Attributes, calendar: PeriodCalendar, sums: SumStore
    ) -> None:
        entities = set(changed)
        if self.by_deal:
            entities |= attrs.deals_affected()
        else:
            entities |= attrs.changed_leads
        for entity in entities:
            first = self.base.first(entity)
            get = attrs.deal_getter(entity) if self.by_deal else _lead_getter(attrs, entity)
            new = first if first is not None and self._passes(get) else None
            old = self._counted.get(entity)
            if old == new:
                continue
            if old is not None:
                sums.add(self.name, calendar.slots(old[3], old[4], old[5]), -1, -1)
                del self._counted[entity]
            if new is not None:
                sums.add(self.name, calendar.slots(new[3], new[4], new[5]), 1, 1)
                self._counted[entity] = new


def _lead_getter(attrs: Attributes, lead_id: str) -> Getter:
    channel = attrs.channel(lead_id)
    return lambda name: channel if name == "lead.channel" else None


SUM_BASES: tuple[str, ...] = (
    "won_deals",
    "won_value",
    "new_business_value",
    "upsells",
    "renewals",
    "core_product_wins",
)


class CustomDeals:
    """Custom KPIs over the deal bases that come from a deal's outcome."""

    def __init__(self, kpis: list[tuple[str, CustomKpi]]) -> None:
        self._kpis = [(name, custom.base, _Predicate(custom)) for name, custom in kpis]
        self._counted: dict[tuple[str, str], DealOutcome] = {}  # (kpi, deal) -> outcome counted
        self.pipelines = {
            name: PipelineValue(name) for name, base, _ in self._kpis if base == "pipeline_value"
        }

    def flush(
        self,
        changed: set[str],
        book: DealBook,
        attrs: Attributes,
        stores: tuple[SumStore, MedianStore, RatioStore],
        calendar: PeriodCalendar,
    ) -> None:
        for deal in changed | attrs.deals_affected():
            outcome = book.outcome(deal)
            get = attrs.deal_getter(deal)
            for name, base, passes in self._kpis:
                new = outcome if outcome is not NOTHING and passes(get) else NOTHING
                old = self._counted.get((name, deal), NOTHING)
                if new == old:
                    continue
                self._contribute(name, base, old, -1, stores, calendar)
                self._contribute(name, base, new, 1, stores, calendar)
                if new is NOTHING:
                    self._counted.pop((name, deal), None)
                else:
                    self._counted[(name, deal)] = new

    def _contribute(
        self,
        name: str,
        base: str,
        outcome: DealOutcome,
        sign: int,
        stores: tuple[SumStore, MedianStore, RatioStore],
        calendar: PeriodCalendar,
    ) -> None:
        if outcome is NOTHING:
            return
        sums, medians, ratios = stores
        if base in SUM_BASES:
            for kpi, day, team, rep, n, total in outcome.sums:
                if kpi == base:
                    signed = total if sign > 0 else -total
                    sums.add(name, calendar.slots(day, team, rep), sign * n, signed)
        elif base == "close_rate":
            for day, team, won in outcome.closes:
                ratios.add(name, calendar.team_slots(day, team), sign * won, sign)
        elif base == "pipeline_value":
            if outcome.pipeline:
                self.pipelines[name].add(outcome.pipeline, sign)
        else:  # deal_velocity_days, stage_days:<stage>
            for kpi, day, team, days in outcome.medians:
                if kpi == base:
                    medians.add(name, calendar.team_slots(day, team), days, sign)


class CustomKpis:
    """Every custom KPI of a definition, by base family."""

    def __init__(self, definition: Definition) -> None:
        by_family: dict[str, list[tuple[str, CustomKpi]]] = {"activity": [], "lead": [], "deal": []}
        for name, custom in definition.kpis.items():
            by_family[family_of(custom.base)].append((name, custom))
        self.attrs = Attributes()
        self.activities = (
            CustomActivities(by_family["activity"], dict(definition.points))
            if by_family["activity"]
            else None
        )
        self._firsts_spec = [
            (name, custom)
            for name, custom in (*by_family["lead"], *by_family["deal"])
            if custom.base in ("leads_created", "qualified_leads", "deals_opened")
        ]
        deal_outcomes = [(n, c) for n, c in by_family["deal"] if c.base != "deals_opened"]
        self.deals = CustomDeals(deal_outcomes) if deal_outcomes else None
        self.firsts: list[CustomFirsts] = []

    def bind_firsts(self, bases: dict[str, FirstEvents]) -> None:
        self.firsts = [CustomFirsts(n, c, bases[c.base]) for n, c in self._firsts_spec]

    @staticmethod
    def names_by_value(definition: Definition) -> dict[str, list[str]]:
        """Custom KPI names per store: counts, amounts, medians, ratios, pipelines."""
        out: dict[str, list[str]] = {
            "count": [],
            "amount": [],
            "days": [],
            "ratio": [],
            "pipeline": [],
        }
        for name, custom in definition.kpis.items():
            spec = custom.spec(name)
            if spec.point_in_time:
                out["pipeline"].append(name)
            else:
                out[spec.value_type].append(name)
        return out
