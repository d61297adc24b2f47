"""A deal (opportunity) export: each row to the events it proves.

- `deal.opened` at the created date, in the row's stage when the deal is still open, else in the
  mapping's `opened_stage`; its amount is the `amount` column (0 when the export has none);
- for a row in `won` or `lost`: a `deal.stage_changed` to it at the close date, and before a win
  a `deal.amount_changed` to the close value (when it differs from the opened amount).

What an export cannot tell (the stages between, and the amount's history) is not invented.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kpiflow.streams.crm_import.cells import amount
from kpiflow.streams.crm_import.facts import RowError, RowReader, envelope, problem_of
from kpiflow.streams.crm_import.mapping import DealsMapping, KindRule
from kpiflow.streams.crm_import.rows import Record, RowProblem

TERMINAL = ("won", "lost")


@dataclass(frozen=True)
class DealRow:
    line: int
    deal_id: str
    owner: str
    team: str
    account: str
    product: str
    stage: str
    created: datetime
    closed: datetime | None
    amount: str | None
    close_value: str | None
    kind: str | None  # None: decided by the mapping's rule over the whole export
    currency: str


def read_deal(record: Record, reader: RowReader, currency: str) -> DealRow:
    m = reader.mapping
    assert isinstance(m, DealsMapping)
    c = m.columns
    deal_id = reader.required(record, c.id, "deal id")
    owner = reader.required(record, c.owner, "owner")
    team = reader.team(record, owner, c.owner)
    account = reader.required(record, c.account, "account (the deal's customer)")
    cell = reader.required(record, c.stage, "stage")
    stage = m.stages.get(cell)
    if stage is None:
        known = ", ".join(repr(k) for k in m.stages)
        raise RowError(
            c.stage, f"{cell!r} is not a stage the mapping knows (stages: has {known}); add it"
        )
    created = reader.required_moment(record, c.created, "when the deal was created")
    closed = reader.moment(record, c.closed) if stage in TERMINAL else None
    if stage in TERMINAL:
        if closed is None:
            raise RowError(
                c.closed or c.stage, f"the deal is {cell!r} ({stage}) but has no close date"
            )
        if closed < created:
            raise RowError(
                c.closed or "-",
                f"the close date {record.get(c.closed)!r} is before the created date "
                f"{record.get(c.created)!r}",
            )
    value = record.get(c.amount)
    close = record.get(c.close_value)
    product = record.get(c.product)
    return DealRow(
        line=record.line,
        deal_id=deal_id,
        owner=owner,
        team=team,
        account=account,
        product=m.products.get(product, product),
        stage=stage,
        created=created,
        closed=closed,
        amount=reader.read(c.amount or "-", lambda: amount(value)) if value else None,
        close_value=reader.read(c.close_value or "-", lambda: amount(close))
        if close and stage == "won"
        else None,
        kind=None if isinstance(m.kind, KindRule) else reader.pick(record, m.kind, "deal kind"),
        currency=reader.pick(record, m.currency, "currency") if m.currency else currency,
    )


def kinds_by_rule(rows: list[DealRow]) -> dict[str, str]:
    """`upsell_after_won`: a deal is an upsell when its account had a deal won before the deal
    was created (in this export), else new business."""
    first_won: dict[str, datetime] = {}
    for row in rows:
        if row.stage == "won" and row.closed is not None:
            known = first_won.get(row.account)
            if known is None or row.closed < known:
                first_won[row.account] = row.closed
    return {
        row.deal_id: "upsell"
        if row.account in first_won and first_won[row.account] < row.created
        else "new_business"
        for row in rows
    }


def deal_events(row: DealRow, kind: str, mapping: DealsMapping) -> list[dict[str, Any]]:
    opened_stage = mapping.opened_stage if row.stage in TERMINAL else row.stage
    opened_amount = row.amount or "0"

    def event(fact: str, event_type: str, at: datetime, **fields: Any) -> dict[str, Any]:
        return envelope(
            mapping,
            "deal",
            row.deal_id,
            fact,
            event_type,
            at,
            row.owner,
            row.team,
            deal_id=row.deal_id,
            **fields,
        )

    out = [
        event(
            "opened",
            "deal.opened",
            row.created,
            customer_id=row.account,
            deal_kind=kind,
            product=row.product,
            amount=opened_amount,
            currency=row.currency,
            stage=opened_stage,
        )
    ]
    if row.stage in TERMINAL:
        assert row.closed is not None
        if row.stage == "won" and row.close_value is not None and row.close_value != opened_amount:
            out.append(
                event(
                    f"amount:{row.close_value}",
                    "deal.amount_changed",
                    row.closed,
                    amount=row.close_value,
                    currency=row.currency,
                )
            )
        out.append(
            event(
                f"stage:{row.stage}",
                "deal.stage_changed",
                row.closed,
                from_stage=opened_stage,
                to_stage=row.stage,
            )
        )
    return out


def derive_deals(
    records: list[Record], reader: RowReader, currency: str
) -> Iterator[tuple[int, list[dict[str, Any]]] | RowProblem]:
    mapping = reader.mapping
    assert isinstance(mapping, DealsMapping)
    rows: list[DealRow] = []
    for record in records:
        try:
            rows.append(read_deal(record, reader, currency))
        except RowError as exc:
            yield problem_of(record, exc)
    kinds = kinds_by_rule(rows) if isinstance(mapping.kind, KindRule) else {}
    for row in rows:
        yield row.line, deal_events(row, row.kind or kinds[row.deal_id], mapping)
