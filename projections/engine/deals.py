"""Deals: what one deal's events contribute to every deal KPI, recomputed when it changes.

A deal keeps its own few `deal.*` events (never a global list). When one arrives, late or not,
the deal's outcome is recomputed from them, and the engine retracts the old outcome and adds
the new one. An outcome is plain data, so "nothing changed" is an equality test.

Readings of the spec used here (see also the module docstrings of pipeline and customers):
- Order of one deal's events: (occurred_at, seq, event_id); seq is arrival order for ties and
  event_id only makes the order total.
- The first terminal change is the first `deal.stage_changed` to `won`/`lost` in that order.
  Every stage change after it in that order (a later instant, or the same instant arriving
  later) is ignored by every KPI.
- The deal's opening is its first `deal.opened` in that order: it gives deal_kind, product,
  customer_id, the start of `deal_velocity_days` and the first stay. Further `deal.opened`
  events only count as amount observations (and owner events for the pipeline).
- A `deal.opened` ordered after a stage change starts no stay (the stage the changes put the
  deal in wins, like a disagreeing `from_stage`).
- `deal_velocity_days` is (won - opened) as exact instants, also when the data puts the opening
  after the win (a negative duration is what the events say; it is not dropped).
- won_value without any known amount adds 0 (a won_value row of 0 exists: the deal counted).
- Only a `deal.stage_changed` wins, loses or closes a deal; a `deal.opened` already in `won` or
  `lost` is not a win, but it never puts the deal in the pipeline either.
- A change to the stage the deal is already in still ends the stay and starts a new one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import NamedTuple

from kpiflow.events.deals import TERMINAL_STAGES
from kpiflow.events.fields import STAGES
from kpiflow.events.rates import ExchangeRates
from kpiflow.projections.engine.periods import MICROSECONDS_PER_DAY, micros
from kpiflow.projections.records import EventRecord

OPENED, STAGE_CHANGED, AMOUNT_CHANGED = "deal.opened", "deal.stage_changed", "deal.amount_changed"
DEAL_EVENT_TYPES = frozenset((OPENED, STAGE_CHANGED, AMOUNT_CHANGED))
TERMINAL = frozenset(TERMINAL_STAGES)  # the contract's terminal stages, as a set for the hot loops
ZERO = Decimal(0)


class DealEvent(NamedTuple):
    at: int  # exact microseconds since the epoch
    seq: int
    event_id: str
    event_type: str
    instant: datetime
    day: date  # local date
    team: str
    rep: str
    amount: Decimal | None
    stage: str  # deal.opened's stage, or the change's to_stage
    deal_kind: str
    product: str
    customer_id: str

    @property
    def order(self) -> tuple[int, int, str]:
        return (self.at, self.seq, self.event_id)


def deal_event(record: EventRecord, day: date, rates: ExchangeRates | None = None) -> DealEvent:
    """The engine's view of a deal event; an amount in another currency than the reporting one
    is converted with the definition version's exchange rates at the event's local date (no rate
    for it: no amount known)."""
    amount = record.amount
    if amount is not None and rates is not None and record.currency:
        amount = rates.convert(amount, record.currency, day)
    return DealEvent(
        micros(record.occurred_at),
        record.seq,
        record.event_id,
        record.event_type,
        record.occurred_at,
        day,
        record.team_id,
        record.rep_id,
        amount,
        record.to_stage if record.event_type == STAGE_CHANGED else record.stage,
        record.deal_kind,
        record.product,
        record.customer_id,
    )


# (micros, seq, event_id, local date, team) of a won new_business deal, for retention
Win = tuple[int, int, str, date, str]

OPEN_ORDER = {stage: index for index, stage in enumerate(STAGES) if stage not in TERMINAL_STAGES}


class Stay(NamedTuple):
    """A stay in an open stage, ended by the stage change `to_stage` (docs/coaching.md)."""

    stage: str
    day: date  # local date of the change that ended it
    team: str  # team and rep of that change
    rep: str
    days: float
    to_stage: str

    @property
    def outcome(self) -> str:
        """`forward` (a later open stage, or won), `lost`, or `back` (the same or an earlier
        open stage)."""
        if self.to_stage == "lost":
            return "lost"
        if self.to_stage == "won" or OPEN_ORDER.get(self.to_stage, -1) > OPEN_ORDER[self.stage]:
            return "forward"
        return "back"


class Close(NamedTuple):
    """The deal's first terminal change: when, whose, won or lost, and (won, opening known) the
    days from `deal.opened`."""

    day: date
    team: str
    rep: str
    won: bool
    velocity_days: float | None


@dataclass(frozen=True, slots=True)
class DealOutcome:
    sums: tuple[
        tuple[str, date, str, str, int, int | Decimal], ...
    ] = ()  # kpi, day, team, rep, n, total
    medians: tuple[tuple[str, date, str, float], ...] = ()  # kpi, day, team, days
    closes: tuple[tuple[date, str, int], ...] = ()  # day, team, won (1) or lost (0)
    pipeline: tuple[
        tuple[date, str, str, int, Decimal], ...
    ] = ()  # day, team, rep, +-deals, +-amount
    customer: str = ""  # customer of a won new_business deal
    win: Win | None = None
    stays: tuple[Stay, ...] = ()  # for coaching (per rep, never a KPI row)
    close: Close | None = None


NOTHING = DealOutcome()


def first_terminal(events: list[DealEvent]) -> DealEvent | None:
    changes = [e for e in events if e.event_type == STAGE_CHANGED and e.stage in TERMINAL]
    return min(changes, key=lambda e: e.order) if changes else None


def deal_outcome(events: list[DealEvent], core_products: frozenset[str]) -> DealOutcome:
    """Everything one deal contributes, from its events in any order."""
    events = sorted(events, key=lambda e: e.order)
    terminal = first_terminal(events)
    if terminal is not None:
        cut = terminal.order
        events = [e for e in events if e.event_type != STAGE_CHANGED or e.order <= cut]
    opened = next((e for e in events if e.event_type == OPENED), None)
    sums: list = []
    medians: list = []
    closes: list = []
    customer, win = "", None
    close = None
    if terminal is not None:
        closes.append((terminal.day, terminal.team, int(terminal.stage == "won")))
        close = Close(terminal.day, terminal.team, terminal.rep, terminal.stage == "won", None)
    if terminal is not None and terminal.stage == "won":
        won = terminal
        amount = _amount_at(events, won.at)
        sums.append(("won_deals", won.day, won.team, won.rep, 1, 1))
        sums.append(("won_value", won.day, won.team, won.rep, 1, amount))
        if opened is not None:
            if opened.deal_kind == "new_business":
                sums.append(("new_business_value", won.day, won.team, won.rep, 1, amount))
                if opened.customer_id:
                    customer = opened.customer_id
                    win = (won.at, won.seq, won.event_id, won.day, won.team)
            elif opened.deal_kind == "upsell":
                sums.append(("upsells", won.day, won.team, won.rep, 1, 1))
            elif opened.deal_kind == "renewal":
                sums.append(("renewals", won.day, won.team, won.rep, 1, 1))
            if opened.product in core_products:
                sums.append(("core_product_wins", won.day, won.team, won.rep, 1, 1))
            velocity = (won.at - opened.at) / MICROSECONDS_PER_DAY
            medians.append(("deal_velocity_days", won.day, won.team, velocity))
            close = close._replace(velocity_days=velocity) if close else None
    stays = ended_stays(events)
    medians.extend((f"stage_days:{s.stage}", s.day, s.team, s.days) for s in stays)
    return DealOutcome(
        tuple(sums),
        tuple(medians),
        tuple(closes),
        _pipeline_deltas(events, terminal),
        customer,
        win,
        stays,
        close,
    )


def _amount_at(events: list[DealEvent], at: int) -> Decimal:
    """The latest opened/amount_changed amount with occurred_at <= `at` (ties included), or 0."""
    amount = ZERO
    for e in events:  # sorted, so the last match is the latest
        if e.at > at:
            break
        if e.event_type != STAGE_CHANGED and e.amount is not None:
            amount = e.amount
    return amount


def ended_stays(events: list[DealEvent]) -> tuple[Stay, ...]:
    """Every stay in an open stage ended by a stage change (events sorted, cut at the first
    terminal change): the values of `stage_days:<stage>`, and coaching's funnel."""
    stays = []
    stage, since = "", 0
    for e in events:
        if e.event_type == OPENED:
            if not stage:
                stage, since = e.stage, e.at
        elif e.event_type == STAGE_CHANGED:
            if stage and stage not in TERMINAL:
                days = (e.at - since) / MICROSECONDS_PER_DAY
                stays.append(Stay(stage, e.day, e.team, e.rep, days, e.stage))
            stage, since = e.stage, e.at
    return tuple(stays)


def _pipeline_deltas(
    events: list[DealEvent], terminal: DealEvent | None
) -> tuple[tuple[date, str, str, int, Decimal], ...]:
    """Changes of the deal's (owner, amount) in the pipeline, at the local date they happen.

    The deal is in the pipeline after its `deal.opened` and before its first terminal change
    (a `deal.opened` already in `won`/`lost` never puts it in). Its amount is the latest
    opened/amount_changed amount, its owner the team/rep of its latest `deal.*` event. The state
    at the end of a local date is the state after the last event of that date.
    """
    deltas: dict[tuple[date, str, str], list] = {}
    before = None  # (team, rep, amount) at the end of the previous event's date
    state = None
    day = None
    is_open = closed = False
    amount = ZERO
    for e in events:
        if day is not None and e.day != day:
            _change(deltas, day, before, state)
            before = state
        day = e.day
        if e.event_type == OPENED:
            is_open = True
            amount = e.amount if e.amount is not None else ZERO
            closed = closed or e.stage in TERMINAL
        elif e.event_type == AMOUNT_CHANGED:
            amount = e.amount if e.amount is not None else ZERO
        elif e is terminal:
            closed = True
        state = (e.team, e.rep, amount) if is_open and not closed else None
    if day is not None:
        _change(deltas, day, before, state)
    return tuple(
        (day, team, rep, count, total)
        for (day, team, rep), (count, total) in deltas.items()
        if count or total
    )


def _change(deltas: dict, day: date, before: tuple | None, after: tuple | None) -> None:
    if before == after:
        return
    for state, sign in ((before, -1), (after, 1)):
        if state is not None:
            team, rep, amount = state
            cell = deltas.setdefault((day, team, rep), [0, ZERO])
            cell[0] += sign
            cell[1] += amount if sign > 0 else -amount


class DealBook:
    """Per deal: its events, and the outcome currently counted; deals changed since a flush."""

    def __init__(self, core_products: frozenset[str], rates: ExchangeRates | None = None) -> None:
        self._core = core_products
        self._rates = rates
        self._events: dict[str, list[DealEvent]] = {}
        self._counted: dict[str, DealOutcome] = {}
        self._dirty: set[str] = set()

    def add(self, record: EventRecord, day: date) -> None:
        if not record.deal_id:
            return
        self._events.setdefault(record.deal_id, []).append(deal_event(record, day, self._rates))
        self._dirty.add(record.deal_id)

    def terminal_at(self, deal_id: str) -> datetime | None:
        terminal = first_terminal(self._events.get(deal_id, []))
        return None if terminal is None else terminal.instant

    def outcome(self, deal_id: str) -> DealOutcome:
        """The outcome counted now (after `changes()`)."""
        return self._counted.get(deal_id, NOTHING)

    def changes(self) -> list[tuple[str, DealOutcome, DealOutcome]]:
        """(deal, old, new) outcome of every deal whose outcome changed since the last call."""
        out = []
        for deal_id in sorted(self._dirty):
            new = deal_outcome(self._events[deal_id], self._core)
            old = self._counted.get(deal_id, NOTHING)
            if new != old:
                self._counted[deal_id] = new
                out.append((deal_id, old, new))
        self._dirty.clear()
        return out
