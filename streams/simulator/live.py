"""An endless live trickle: the same org, events at a steady rate from a start instant.

Time is compressed: a deal that takes weeks in the history moves within minutes here, so a
dashboard shows leads, stage changes and wins while you watch. Events arrive as a Poisson
process of `rate_per_s` at any hour (the trickle is a demo feed, not a working day); each
event's `occurred_at` is `start` plus its offset, with milliseconds, in the org's zone.

Ids of leads, deals and new customers carry a tag drawn from the run's random stream, which
is seeded by the config, the start instant and the rate: a restarted trickle (a new start)
never reuses an event id or a deal id of an earlier run, and the same arguments replay it.
Upsells, renewals and churn use the history's book of customers (`cust-00001`, ...).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from random import Random
from typing import Any

from kpiflow.errors import ConfigError
from kpiflow.streams.simulator import sales_facts as facts
from kpiflow.streams.simulator.activities import KIND_TABLE
from kpiflow.streams.simulator.clock import rfc3339
from kpiflow.streams.simulator.config import OrgConfig, stream_seed
from kpiflow.streams.simulator.deal_flow import CHURN_AFTER_LOST_RENEWAL, HANDOVER, SOURCE, Customer
from kpiflow.streams.simulator.history import build_world
from kpiflow.streams.simulator.ids import uuid4_text
from kpiflow.streams.simulator.org import Org, Rep

# Share of each kind of step; a step whose pool is empty becomes an activity.
STEPS = (
    ("activity", 0.82),
    ("lead", 0.05),
    ("assess", 0.045),
    ("open", 0.02),
    ("advance", 0.05),
    ("reprice", 0.01),
    ("churn", 0.0005),
)
MAX_OPEN_DEALS_PER_REP = 4
MAX_WAITING_LEADS_PER_REP = 3


@dataclass(slots=True, eq=False)
class LiveDeal:
    deal_id: str
    customer: Customer
    kind: str
    owner: Rep
    path: list[str]  # stages still to come, the terminal one last
    stage: str
    cents: int
    product: str
    handover_at: int | None  # number of changes left when the deal changes hands


@dataclass(slots=True)
class LiveState:
    # (lead id, rep, channel) created and not assessed yet
    waiting: list[tuple[str, Rep, str]] = field(default_factory=list)
    unqualified: list[tuple[str, Rep, dict]] = field(default_factory=list)  # may be reassessed
    qualified: list[tuple[str, Rep]] = field(default_factory=list)  # waiting for a deal
    deals: list[LiveDeal] = field(default_factory=list)
    customers: list[Customer] = field(default_factory=list)  # active, may buy or churn
    leaving: list[Customer] = field(default_factory=list)  # lost a renewal, churn next


class LiveOrg:
    def __init__(self, cfg: OrgConfig, org: Org, book: list[Customer], rng: Random) -> None:
        self.cfg = cfg
        self.org = org
        self.rng = rng
        self.state = LiveState(customers=list(book))
        self.tag = "%06x" % rng.getrandbits(24)
        self._counts = {"lead": 0, "deal": 0, "cust": 0}
        self._reps_by_pace = [rep for rep in org.reps for _ in range(max(1, round(rep.pace * 20)))]
        self._steps = {
            "activity": self._activity, "lead": self._lead, "assess": self._assess,
            "open": self._open, "advance": self._advance, "reprice": self._reprice,
            "churn": self._churn,
        }  # fmt: skip

    def next_event(self) -> dict[str, Any]:
        event = self._steps[facts.pick(self.rng, STEPS)]()
        return event if event is not None else self._activity()

    # ---- steps ------------------------------------------------------------------------------
    def _activity(self) -> dict[str, Any]:
        rng, state = self.rng, self.state
        rep = self._reps_by_pace[rng.randrange(len(self._reps_by_pace))]
        activity_type, direction, (p_deal, p_lead, p_customer) = KIND_TABLE[
            rng.randrange(len(KIND_TABLE))
        ]
        fields: dict[str, Any] = {"activity_type": activity_type}
        if direction is not None:
            fields["direction"] = direction
        x = rng.random()
        if x < p_deal:
            deal = self._any(d for d in state.deals if d.owner is rep)
            if deal is not None:
                fields["deal_id"] = deal.deal_id
        elif x < p_deal + p_lead:
            lead = self._any(lead for lead, owner, _ in state.waiting if owner is rep)
            if lead is not None:
                fields["lead_id"] = lead
        elif x < p_deal + p_lead + p_customer:
            customer = self._any(c for c in state.customers if c.owner is rep)
            if customer is not None:
                fields["customer_id"] = customer.customer_id
        return self._event(rep, "activity.logged", fields)

    def _lead(self) -> dict[str, Any] | None:
        rng, state = self.rng, self.state
        if len(state.waiting) >= MAX_WAITING_LEADS_PER_REP * len(self.org.reps):
            return None
        rep = self._reps_by_pace[rng.randrange(len(self._reps_by_pace))]
        channel = (
            "inbound-web" if rng.random() < 0.3 else facts.pick(rng, facts.REP_SOURCED_CHANNELS)
        )
        lead_id = self._next_id("lead")
        state.waiting.append((lead_id, rep, channel))
        return self._event(rep, "lead.created", {"lead_id": lead_id, "channel": channel})

    def _assess(self) -> dict[str, Any] | None:
        rng, state = self.rng, self.state
        if state.unqualified and (not state.waiting or rng.random() < 0.25):
            lead_id, rep, previous = state.unqualified.pop(rng.randrange(len(state.unqualified)))
            checklist = facts.reassessed(rng, previous)
        elif state.waiting:
            lead_id, rep, channel = state.waiting.pop(rng.randrange(len(state.waiting)))
            checklist = facts.first_checklist(rng, channel)
        else:
            return None
        if facts.is_qualified(checklist):
            state.qualified.append((lead_id, rep))
        elif len(state.unqualified) < 50 * len(self.org.reps):
            state.unqualified.append((lead_id, rep, checklist))
        return self._event(
            rep, "lead.qualification_assessed", {"lead_id": lead_id, "checklist": checklist}
        )

    def _open(self) -> dict[str, Any] | None:
        rng, state = self.rng, self.state
        if len(state.deals) >= MAX_OPEN_DEALS_PER_REP * len(self.org.reps):
            return None
        busy = {id(d.customer) for d in state.deals}
        if state.qualified and rng.random() < 0.75:
            lead_id, rep = state.qualified.pop(rng.randrange(len(state.qualified)))
            customer, kind = Customer(self._next_id("cust"), rep), "new_business"
            product, cents = facts.new_business_offer(rng)
        else:
            customer = self._any(c for c in state.customers if id(c) not in busy)
            if customer is None:
                return None
            lead_id, rep = None, customer.owner
            kind = "renewal" if rng.random() < 0.4 else "upsell"
            if kind == "upsell":
                product, cents = facts.upsell_offer(rng, customer.product, customer.contract_cents)
            else:
                product, cents = (
                    customer.product,
                    facts.renewal_amount(rng, customer.contract_cents),
                )
        path = facts.stage_path(rng, kind)
        handover = rng.randrange(1, len(path)) if rng.random() < HANDOVER else None
        deal = LiveDeal(
            self._next_id("deal"),
            customer,
            kind,
            rep,
            path[1:],
            path[0],
            cents,
            product,
            None if handover is None else len(path) - handover,
        )
        state.deals.append(deal)
        fields = {"deal_id": deal.deal_id, "customer_id": customer.customer_id}
        if lead_id is not None:
            fields["lead_id"] = lead_id
        fields |= {
            "deal_kind": kind,
            "product": product,
            "amount": facts.money(cents),
            "currency": self.cfg.currency,
            "stage": deal.stage,
        }
        return self._event(rep, "deal.opened", fields)

    def _advance(self) -> dict[str, Any] | None:
        rng, state = self.rng, self.state
        if not state.deals:
            return None
        deal = state.deals[rng.randrange(len(state.deals))]
        if deal.handover_at == len(deal.path):
            deal.owner = self.org.other_rep(deal.owner, rng) or deal.owner
        before, after = deal.stage, deal.path.pop(0)
        deal.stage = after
        if not deal.path:  # won or lost: the deal never moves again
            state.deals.remove(deal)
            self._closed(deal)
        return self._event(
            deal.owner,
            "deal.stage_changed",
            {"deal_id": deal.deal_id, "from_stage": before, "to_stage": after},
        )

    def _reprice(self) -> dict[str, Any] | None:
        if not self.state.deals:
            return None
        deal = self.state.deals[self.rng.randrange(len(self.state.deals))]
        deal.cents = facts.changed_amount(self.rng, deal.cents, deal.stage)
        return self._event(
            deal.owner,
            "deal.amount_changed",
            {
                "deal_id": deal.deal_id,
                "amount": facts.money(deal.cents),
                "currency": self.cfg.currency,
            },
        )

    def _churn(self) -> dict[str, Any] | None:
        state = self.state
        if state.leaving:
            return self._gone(state.leaving.pop(0))
        busy = {id(d.customer) for d in state.deals}
        customer = self._any(c for c in state.customers if id(c) not in busy)
        if customer is None:
            return None
        state.customers.remove(customer)
        return self._gone(customer)

    # ---- helpers ----------------------------------------------------------------------------
    def _closed(self, deal: LiveDeal) -> None:
        customer = deal.customer
        if deal.stage == "won":
            if deal.kind == "new_business":
                customer.owner, customer.product, customer.contract_cents = (
                    deal.owner,
                    deal.product,
                    deal.cents,
                )
                self.state.customers.append(customer)
            else:
                customer.contract_cents = max(customer.contract_cents, deal.cents)
        elif deal.kind == "renewal" and customer in self.state.customers:
            self.state.customers.remove(customer)  # no new deals for it
            if self.rng.random() < CHURN_AFTER_LOST_RENEWAL:
                self.state.leaving.append(customer)

    def _gone(self, customer: Customer) -> dict[str, Any]:
        fields = {"customer_id": customer.customer_id}
        reason = facts.churn_reason(self.rng)
        if reason is not None:
            fields["reason"] = reason
        return self._event(customer.owner, "customer.churned", fields)

    def _any(self, values):
        found = list(values)
        return found[self.rng.randrange(len(found))] if found else None

    def _next_id(self, kind: str) -> str:
        self._counts[kind] += 1
        return f"{kind}-live-{self.tag}-{self._counts[kind]:05d}"

    def _event(self, rep: Rep, event_type: str, fields: dict[str, Any]) -> dict[str, Any]:
        return {
            "event_id": "",
            "event_type": event_type,
            "schema_version": 1,
            "occurred_at": "",
            "source": SOURCE,
            "rep_id": rep.rep_id,
            "team_id": rep.team_id,
            **fields,
        }


def simulate_live(
    cfg: OrgConfig, start: datetime, rate_per_s: float
) -> Iterator[tuple[float, dict[str, Any]]]:
    """Endless (seconds after `start` to emit at, event), seconds strictly increasing by >= 1 ms."""
    if not isinstance(start, datetime) or start.tzinfo is None or start.utcoffset() is None:
        raise ConfigError(f"the live start must be a timezone-aware datetime, got {start!r}")
    if not isinstance(rate_per_s, int | float) or not math.isfinite(rate_per_s) or rate_per_s <= 0:
        raise ConfigError(
            f"the live rate must be a positive number of events per second, got {rate_per_s!r}"
        )
    start = start.astimezone(UTC)
    _, _, pipeline = build_world(cfg)
    book = [c for customers in pipeline.rep_customers for c in customers]
    rng = Random(stream_seed(cfg, f"live|{start.isoformat()}|{float(rate_per_s)!r}"))
    world = LiveOrg(cfg, pipeline.org, book, rng)
    ids = Random(rng.getrandbits(128))
    zone = cfg.zone
    at_ms = 0
    while True:
        at_ms = max(at_ms + 1, round((at_ms / 1000 + rng.expovariate(rate_per_s)) * 1000))
        event = world.next_event()
        event["event_id"] = uuid4_text(ids.getrandbits(128))
        event["occurred_at"] = rfc3339(start + timedelta(milliseconds=at_ms), zone, "milliseconds")
        yield at_ms / 1000, event
