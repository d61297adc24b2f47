"""Leads, deals and customers of the history, planned day by day.

`DealFlow.advance(day)` plans what starts that day (new leads, renewals coming up, upsells,
churn) and returns the events that fall on it. A lead or deal is planned whole when it starts:
its assessments or its stage path, amount changes and hand-over are drawn at once and their
events go into the buckets of later days, so a deal never moves after won or lost and its stages
follow the contract's order. Events past the window are dropped: those deals are still open.

The pipeline has its own random stream, independent of the activity rate.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from random import Random
from typing import Any

from kpiflow.streams.simulator import sales_facts as facts
from kpiflow.streams.simulator.clock import DayCalendar
from kpiflow.streams.simulator.config import OrgConfig
from kpiflow.streams.simulator.org import Org, Rep

SOURCE = "simulator"
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")

WORK_START, WORK_END = 8 * 3600 + 1800, 17 * 3600 + 2700  # pipeline events: 08:30-17:45 local
LEADS_PER_REP_DAY = 0.8  # leads a rep finds on a workday (outbound lists, referrals)
INBOUND_PER_REP_DAY = 0.25  # web leads routed to a team, per rep, per workday (a third on weekends)
SHOW_LEADS_PER_REP_DAY = 2.0  # badge scans entered per attending rep per trade-show day
ASSESSED = 0.85  # share of leads that get a qualification assessment
REASSESS_UNQUALIFIED, REASSESS_QUALIFIED = 0.35, 0.1
DEAL_FROM_QUALIFIED = 0.6
BOOK_PER_REP = 8  # existing customers each rep looks after when the window starts
UPSELL_PER_QUARTER, CHURN_PER_QUARTER = 0.15, 0.04
CHURN_AFTER_LOST_RENEWAL = 0.6
AMOUNT_CHANGE = 0.18  # chance of a re-pricing during a stay of two workdays or more
HANDOVER = 0.06  # share of deals reassigned to another rep once
LEAD_MEMORY_DAYS = 30  # how long reps keep touching a lead in their activities

Scheduled = tuple[int, dict[str, Any]]  # (second of the local day, event without id and time)


@dataclass(slots=True, eq=False)
class Lead:
    lead_id: str
    created_day: int


@dataclass(slots=True, eq=False)
class Customer:
    customer_id: str
    owner: Rep
    product: str = ""
    contract_cents: int = 0
    active: bool = False  # has won a new_business deal and not churned
    leaving: bool = False  # churn planned: no new deals
    busy_until: int = -1  # day a deal of this customer closes (or the window's end)


@dataclass(slots=True, eq=False)
class Deal:
    deal_id: str
    customer: Customer
    opened_day: int
    owner: Rep
    close_day: int | None = None  # day of won/lost, None while open at the window's end
    new_owner: Rep | None = None
    handover_day: int | None = None

    def owner_at(self, day: int) -> Rep:
        if self.handover_day is not None and day >= self.handover_day:
            return self.new_owner
        return self.owner


@dataclass(slots=True)
class TradeShow:
    channel: str
    teams: frozenset[int]
    lead_days: dict[int, float] = field(default_factory=dict)  # day -> leads per attending rep


class DealFlow:
    def __init__(self, cfg: OrgConfig, org: Org, calendar: DayCalendar, rng: Random) -> None:
        self.cfg = cfg
        self.org = org
        self.cal = calendar
        self.rng = rng
        self.days = cfg.days
        self.buckets: list[list[Scheduled]] = [[] for _ in range(cfg.days)]
        self._activations: list[list[tuple[Customer, Rep]]] = [[] for _ in range(cfg.days)]
        self._renewals: list[list[Customer]] = [[] for _ in range(cfg.days)]
        self.rep_leads: list[list[Lead]] = [[] for _ in org.reps]
        self.rep_deals: list[list[Deal]] = [[] for _ in org.reps]
        self.rep_customers: list[list[Customer]] = [[] for _ in org.reps]
        self._customers: list[Customer] = []  # active ones, checked daily for upsell and churn
        self._counts = {"lead": 0, "deal": 0, "cust": 0}
        self._seed_book()
        self.shows = self._plan_trade_shows()

    # ---- the day loop -------------------------------------------------------------------
    def advance(self, day: int) -> list[Scheduled]:
        """Plan what starts on `day`; return that day's events (unsorted)."""
        for customer, owner in self._activations[day]:
            self._activate(customer, owner)
        if self.cal.is_workday(day):
            self._rep_leads(day)
            self._trade_show_leads(day)
            for customer in self._renewals[day]:
                if customer.active and not customer.leaving and customer.busy_until < day:
                    self._open_deal(day, customer.owner, customer, "renewal")
            self._upsells_and_churn(day)
        self._inbound_leads(day)
        for leads in self.rep_leads:
            while leads and leads[0].created_day < day - LEAD_MEMORY_DAYS:
                leads.pop(0)
        bucket, self.buckets[day] = self.buckets[day], []
        return bucket

    def _rep_leads(self, day: int) -> None:
        rng = self.rng
        for rep in self.org.reps:
            for _ in range(facts.poisson(rng, LEADS_PER_REP_DAY * rep.pace)):
                channel = facts.pick(rng, facts.REP_SOURCED_CHANNELS)
                self._new_lead(day, self._work_sec(), rep, channel)

    def _trade_show_leads(self, day: int) -> None:
        for show in self.shows:
            mean = show.lead_days.get(day)
            if not mean:
                continue
            for rep in self.org.reps:
                if rep.team in show.teams:
                    for _ in range(facts.poisson(self.rng, mean)):
                        self._new_lead(day, self._work_sec(), rep, show.channel)

    def _inbound_leads(self, day: int) -> None:
        """Web forms arrive any day, 06:00-23:00, and are routed to a rep of a team."""
        rng = self.rng
        share = 1.0 if self.cal.is_workday(day) else 0.35
        for reps in self.org.team_reps:
            for _ in range(facts.poisson(rng, INBOUND_PER_REP_DAY * len(reps) * share)):
                rep = reps[rng.randrange(len(reps))]
                self._new_lead(day, rng.randint(6 * 3600, 23 * 3600), rep, "inbound-web")

    def _upsells_and_churn(self, day: int) -> None:
        rng = self.rng
        upsell = UPSELL_PER_QUARTER / 65
        churn = CHURN_PER_QUARTER / 65
        still = []
        for customer in self._customers:
            if not customer.active or customer.leaving:
                continue
            still.append(customer)
            if customer.busy_until >= day:
                continue
            x = rng.random()
            if x < upsell:
                self._open_deal(day, customer.owner, customer, "upsell")
            elif x < upsell + churn:
                self._churn(day, customer)
        self._customers = still

    # ---- leads ------------------------------------------------------------------------------
    def _new_lead(self, day: int, sec: int, rep: Rep, channel: str) -> None:
        rng, cal = self.rng, self.cal
        lead = Lead(self._next_id("lead"), day)
        self.rep_leads[rep.index].append(lead)
        self._add(day, sec, rep, "lead.created", lead_id=lead.lead_id, channel=channel)
        if rng.random() >= ASSESSED:
            return

        def assess(at: int, checklist: dict[str, bool]) -> None:
            self._add(
                at, self._work_sec(), rep, "lead.qualification_assessed",
                lead_id=lead.lead_id, checklist=checklist,
            )  # fmt: skip

        at = cal.add_workdays(day, 1 + int(rng.expovariate(0.5)))
        checklist = facts.first_checklist(rng, channel)
        assess(at, checklist)
        qualified_at = at if facts.is_qualified(checklist) else None
        if rng.random() < (
            REASSESS_QUALIFIED if qualified_at is not None else REASSESS_UNQUALIFIED
        ):
            at = cal.add_workdays(at, 3 + int(rng.expovariate(1 / 6)))
            checklist = facts.reassessed(rng, checklist)
            assess(at, checklist)
            if qualified_at is None and facts.is_qualified(checklist):
                qualified_at = at
        if qualified_at is not None and rng.random() < DEAL_FROM_QUALIFIED:
            open_day = cal.add_workdays(qualified_at, 1 + int(rng.expovariate(1 / 3)))
            if open_day < self.days:
                prospect = Customer(self._next_id("cust"), rep)
                self._open_deal(open_day, rep, prospect, "new_business", lead_id=lead.lead_id)

    # ---- deals ------------------------------------------------------------------------------
    def _open_deal(
        self, day: int, rep: Rep, customer: Customer, kind: str, lead_id: str | None = None
    ) -> None:
        rng, cal, currency = self.rng, self.cal, self.cfg.currency
        if kind == "new_business":
            product, cents = facts.new_business_offer(rng)
        elif kind == "upsell":
            product, cents = facts.upsell_offer(rng, customer.product, customer.contract_cents)
        else:
            product, cents = (
                customer.product,
                facts.renewal_amount(rng, customer.contract_cents),
            )
        path = facts.stage_path(rng, kind)
        handover = rng.randrange(1, len(path)) if rng.random() < HANDOVER else None
        deal = Deal(self._next_id("deal"), customer, day, rep)
        self.rep_deals[rep.index].append(deal)
        opened = {"deal_id": deal.deal_id, "customer_id": customer.customer_id}
        if lead_id is not None:
            opened["lead_id"] = lead_id
        self._add(
            day,
            self._work_sec(),
            rep,
            "deal.opened",
            **opened,
            deal_kind=kind,
            product=product,
            amount=facts.money(cents),
            currency=currency,
            stage=path[0],
        )
        owner, at = rep, day
        for step, (before, after) in enumerate(itertools.pairwise(path), start=1):
            stay = facts.stage_workdays(rng, before)
            if stay >= 2 and rng.random() < AMOUNT_CHANGE:
                cents = facts.changed_amount(rng, cents, before)
                self._add(
                    cal.add_workdays(at, stay // 2),
                    self._work_sec(),
                    owner,
                    "deal.amount_changed",
                    deal_id=deal.deal_id,
                    amount=facts.money(cents),
                    currency=currency,
                )
            at = cal.add_workdays(at, stay)
            if at >= self.days:
                break  # still open when the window ends
            if step == handover:
                new_owner = self.org.other_rep(owner, rng)
                if new_owner is not None:
                    owner, deal.new_owner, deal.handover_day = new_owner, new_owner, at
                    self.rep_deals[new_owner.index].append(deal)
            sec = rng.randint(10 * 3600, 17 * 3600 + 1800)
            if after == "meeting" or (after == "proposal" and rng.random() < 0.5):
                self._deal_activity(
                    at, sec, owner, deal, "meeting" if after == "meeting" else "demo"
                )
            self._add(
                at,
                sec,
                owner,
                "deal.stage_changed",
                deal_id=deal.deal_id,
                from_stage=before,
                to_stage=after,
            )
        else:
            deal.close_day = at
            self._closed(deal, kind, path[-1], product, cents, owner)
        customer.busy_until = deal.close_day if deal.close_day is not None else self.days

    def _closed(
        self, deal: Deal, kind: str, outcome: str, product: str, cents: int, owner: Rep
    ) -> None:
        customer, day = deal.customer, deal.close_day
        if outcome == "won":
            if kind == "new_business":
                customer.product, customer.contract_cents = product, cents
                self._activations[day].append((customer, owner))
            elif kind == "renewal":
                customer.contract_cents = cents
            else:
                customer.contract_cents += cents
                if product in ("pro", "enterprise"):
                    customer.product = product
        elif kind == "renewal" and self.rng.random() < CHURN_AFTER_LOST_RENEWAL:
            customer.leaving = True
            self._churn(self.cal.add_workdays(day, 2 + int(self.rng.expovariate(0.25))), customer)

    def _deal_activity(self, day: int, sec: int, rep: Rep, deal: Deal, activity_type: str) -> None:
        self._add(
            day,
            sec - self.rng.randint(900, 5400),
            rep,
            "activity.logged",
            activity_type=activity_type,
            direction="outbound",
            deal_id=deal.deal_id,
            customer_id=deal.customer.customer_id,
        )

    # ---- customers --------------------------------------------------------------------------
    def _seed_book(self) -> None:
        """Customers won before the window; about a quarter of them come up for renewal in it."""
        rng = self.rng
        for rep in self.org.reps:
            for _ in range(BOOK_PER_REP):
                product, cents = facts.new_business_offer(rng)
                customer = Customer(self._next_id("cust"), rep, product, cents)
                self._activate(customer, rep)
                opens = rng.randrange(365) - 30  # renewal deals open a month before the date
                if 0 <= opens < self.days:
                    day = self.cal.next_workday(opens)
                    if day < self.days:
                        self._renewals[day].append(customer)

    def _activate(self, customer: Customer, owner: Rep) -> None:
        customer.active, customer.owner = True, owner
        self._customers.append(customer)
        self.rep_customers[owner.index].append(customer)

    def _churn(self, day: int, customer: Customer) -> None:
        customer.active = False
        fields = {"customer_id": customer.customer_id}
        reason = facts.churn_reason(self.rng)
        if reason is not None:
            fields["reason"] = reason
        self._add(day, self._work_sec(), customer.owner, "customer.churned", **fields)

    # ---- trade shows ------------------------------------------------------------------------
    def _plan_trade_shows(self) -> list[TradeShow]:
        """About one show every six weeks; some teams attend, reps enter leads for a few days."""
        rng, cal = self.rng, self.cal
        count = max(1, round(self.days / 45))
        shows = []
        for k in range(count):
            first = cal.next_workday(int(self.days * (k + rng.uniform(0.15, 0.7)) / count))
            name = facts.TRADE_SHOWS[rng.randrange(len(facts.TRADE_SHOWS))]
            month = MONTHS[cal.date(first).month - 1]
            teams = frozenset(t for t in range(self.cfg.teams) if rng.random() < 0.7) or frozenset(
                {0}
            )
            show = TradeShow(f"trade-show:{name}-{month}", teams)
            day = first
            for mean in (
                SHOW_LEADS_PER_REP_DAY,
                SHOW_LEADS_PER_REP_DAY,
                SHOW_LEADS_PER_REP_DAY,
                0.8,
                0.4,
            ):
                show.lead_days[day] = mean
                day = cal.add_workdays(day, 1)
            shows.append(show)
        return shows

    # ---- helpers ----------------------------------------------------------------------------
    def _next_id(self, kind: str) -> str:
        self._counts[kind] += 1
        return f"{kind}-{self._counts[kind]:05d}"

    def _work_sec(self) -> int:
        return self.rng.randint(WORK_START, WORK_END)

    def _add(self, day: int, sec: int, rep: Rep, event_type: str, **fields: Any) -> None:
        if day < self.days:
            self.buckets[day].append(
                (
                    sec,
                    {
                        "event_id": "",
                        "event_type": event_type,
                        "schema_version": 1,
                        "occurred_at": "",
                        "source": SOURCE,
                        "rep_id": rep.rep_id,
                        "team_id": rep.team_id,
                        **fields,
                    },
                )
            )

    # ---- what activities may refer to -------------------------------------------------------
    def deal_for(self, rep: Rep, day: int, rng: Random) -> Deal | None:
        """An open deal `rep` owns on `day` (opened on an earlier day), or None."""
        deals = self.rep_deals[rep.index]
        while deals:
            i = int(rng.random() * len(deals))
            deal = deals[i]
            closed = deal.close_day is not None and deal.close_day <= day
            handed_away = (
                deal.handover_day is not None
                and day >= deal.handover_day
                and deal.new_owner is not rep
            )
            if closed or handed_away:
                deals[i] = deals[-1]
                deals.pop()
                continue
            return deal if deal.opened_day < day and deal.owner_at(day) is rep else None
        return None

    def lead_for(self, rep: Rep, day: int, rng: Random) -> Lead | None:
        """A lead `rep` created in the last month (before `day`), or None."""
        leads = self.rep_leads[rep.index]
        if not leads:
            return None
        lead = leads[int(rng.random() * len(leads))]
        return lead if lead.created_day < day else None

    def customer_for(self, rep: Rep, rng: Random) -> Customer | None:
        """An active customer `rep` looks after, or None."""
        customers = self.rep_customers[rep.index]
        while customers:
            i = int(rng.random() * len(customers))
            customer = customers[i]
            if customer.active and customer.owner is rep:
                return customer
            customers[i] = customers[-1]
            customers.pop()
        return None
