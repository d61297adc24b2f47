"""Helpers for the KPI engine tests: build EventRecords tersely, read rows back as tables."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from kpiflow.projections.definitions import DEFAULT_DEFINITION
from kpiflow.projections.engine import KpiEngine, KpiRow
from kpiflow.projections.records import EventRecord

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
UTC = ZoneInfo("UTC")


class Log:
    """Records in arrival order: event ids are UUIDs from a counter, seq counts up from `start`.

    A second log meant to arrive after a first one starts past it (`Log(start=1000)`).
    """

    def __init__(self, start: int = 1) -> None:
        self.records: list[EventRecord] = []
        self._start = start

    def add(
        self, event_type: str, at: str, rep: str = "r1", team: str = "tA", **fields
    ) -> EventRecord:
        n = self._start + len(self.records)
        record = EventRecord(
            event_id=str(uuid.UUID(int=n)),
            event_type=event_type,
            occurred_at=datetime.fromisoformat(at),
            rep_id=rep,
            team_id=team,
            seq=n,
            **fields,
        )
        self.records.append(record)
        return record

    def activity(
        self, at: str, activity_type: str = "call", direction: str = "outbound", **kw
    ) -> EventRecord:
        return self.add(
            "activity.logged", at, activity_type=activity_type, direction=direction, **kw
        )

    def opened(
        self,
        deal: str,
        at: str,
        amount: str,
        kind: str = "new_business",
        product: str = "basic",
        stage: str = "prospect",
        customer: str = "c1",
        **kw,
    ) -> EventRecord:
        return self.add(
            "deal.opened",
            at,
            deal_id=deal,
            customer_id=customer,
            deal_kind=kind,
            product=product,
            amount=Decimal(amount),
            stage=stage,
            **kw,
        )

    def stage(self, deal: str, at: str, to: str, frm: str = "prospect", **kw) -> EventRecord:
        return self.add("deal.stage_changed", at, deal_id=deal, from_stage=frm, to_stage=to, **kw)

    def amount(self, deal: str, at: str, amount: str, **kw) -> EventRecord:
        return self.add("deal.amount_changed", at, deal_id=deal, amount=Decimal(amount), **kw)

    def assessed(self, lead: str, at: str, checklist: dict[str, bool], **kw) -> EventRecord:
        return self.add("lead.qualification_assessed", at, lead_id=lead, checklist=checklist, **kw)

    def created(self, lead: str, at: str, **kw) -> EventRecord:
        return self.add("lead.created", at, lead_id=lead, **kw)

    def churned(self, customer: str, at: str, **kw) -> EventRecord:
        return self.add("customer.churned", at, customer_id=customer, **kw)


def engine(tz: ZoneInfo = UTC) -> KpiEngine:
    return KpiEngine(DEFAULT_DEFINITION, tz)


def run(records: list[EventRecord], tz: ZoneInfo = UTC) -> list[KpiRow]:
    kpis = engine(tz)
    kpis.apply(records)
    return kpis.rows()


def table(
    rows: list[KpiRow], kpi: str, grain: str | None = None
) -> dict[tuple[str, str, str], object]:
    """{(grain, 'YYYY-MM-DD', dimension): value} of one KPI (dimension: 'all', a team or a rep)."""
    return {
        (row.grain, row.period_start.isoformat(), row.dimension): row.value
        for row in rows
        if row.kpi == kpi and (grain is None or row.grain == grain)
    }


def cells(grain: str, period: str, **values: object) -> dict[tuple[str, str, str], object]:
    """Expected rows of one period: cells('day', '2026-10-25', all=4, tA=2) -> table entries."""
    return {(grain, period, dimension): value for dimension, value in values.items()}


def merged(*parts: dict) -> dict:
    out: dict = {}
    for part in parts:
        out.update(part)
    return out


def d(text: str) -> date:
    return date.fromisoformat(text)
