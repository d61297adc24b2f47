"""Exchange rates to the reporting currency (docs/events.md, "Amounts"): a table of currency,
valid-from date and rate, read from the file KPIFLOW_EXCHANGE_RATES_FILE.

An amount in another currency than the reporting one is valid when the table has a rate for that
currency valid on the event's date (the local date of `occurred_at` in the reporting time zone):
the row with the latest valid-from on or before that date. It is converted by exact decimal
multiplication, rounded half to even to 6 decimal places (the contract's finest amount).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from kpiflow.errors import ConfigError

PLACES = Decimal("0.000001")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_RATE = re.compile(r"^\d+(\.\d+)?$")
COLUMNS = ("currency", "valid_from", "rate")


@dataclass(frozen=True)
class ExchangeRates:
    reporting: str
    timezone: str
    table: tuple[tuple[str, date, Decimal], ...]  # (currency, valid_from, rate), sorted

    def rate_on(self, currency: str, day: date) -> Decimal | None:
        found = None
        for cur, valid_from, rate in self.table:
            if cur == currency and valid_from <= day:
                found = rate
        return found

    def local_date(self, instant: datetime) -> date:
        return instant.astimezone(ZoneInfo(self.timezone)).date()

    def convert(self, amount: Decimal, currency: str, day: date) -> Decimal | None:
        """`amount` in the reporting currency; None when there is no rate for that day."""
        if currency in ("", self.reporting):
            return amount
        rate = self.rate_on(currency, day)
        if rate is None:
            return None
        return (amount * rate).quantize(PLACES, rounding=ROUND_HALF_EVEN)

    def as_json(self) -> dict:
        return {
            "reporting": self.reporting,
            "timezone": self.timezone,
            "rates": [[c, d.isoformat(), str(r)] for c, d, r in self.table],
        }

    @classmethod
    def from_json(cls, doc: dict) -> ExchangeRates:
        return cls(
            doc["reporting"],
            doc["timezone"],
            tuple((c, date.fromisoformat(d), Decimal(r)) for c, d, r in doc["rates"]),
        )


def parse_rates(text: str, reporting: str, timezone: str, source: str = "rates") -> ExchangeRates:
    """A rates CSV (header `currency,valid_from,rate`); every problem with its line, or a
    ConfigError that lists them."""
    problems: list[str] = []
    rows: dict[tuple[str, date], Decimal] = {}
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None or tuple(h.strip() for h in header) != COLUMNS:
        raise ConfigError(
            f"{source}:1: the header must be {','.join(COLUMNS)} (got {','.join(header or [])})"
        )
    for number, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != 3:
            problems.append(f"{source}:{number}: {len(cells)} fields, expected 3")
            continue
        currency, valid_from, rate = (c.strip() for c in cells)
        if not _CURRENCY.match(currency):
            problems.append(f"{source}:{number}: currency {currency!r} is not a code like USD")
            continue
        if currency == reporting:
            problems.append(
                f"{source}:{number}: {currency} is the reporting currency (its rate is 1)"
            )
            continue
        try:
            day = date.fromisoformat(valid_from)
        except ValueError:
            problems.append(f"{source}:{number}: valid_from {valid_from!r} is not YYYY-MM-DD")
            continue
        try:
            value = Decimal(rate) if _RATE.match(rate) else None
        except InvalidOperation:
            value = None
        if value is None or value <= 0:
            problems.append(f"{source}:{number}: rate {rate!r} is not a decimal > 0 (e.g. 0.92)")
            continue
        if (currency, day) in rows:
            problems.append(f"{source}:{number}: {currency} from {day} is given twice")
            continue
        rows[(currency, day)] = value
    if problems:
        raise ConfigError(
            "\n".join(
                [f"the exchange-rate file {source} has {len(problems)} problem(s)", *problems]
            )
        )
    table = tuple(sorted((c, d, r) for (c, d), r in rows.items()))
    return ExchangeRates(reporting, timezone, table)


_loaded: dict[tuple[str, float, str, str], ExchangeRates] = {}


def configured_rates(pipeline) -> ExchangeRates | None:
    """The table of KPIFLOW_EXCHANGE_RATES_FILE for these pipeline settings (None when unset);
    read again when the file changes."""
    from pathlib import Path

    path = pipeline.exchange_rates_file
    if path is None:
        return None
    path = Path(path)
    try:
        stamp = path.stat().st_mtime
        key = (str(path.resolve()), stamp, pipeline.currency, pipeline.timezone)
        if key not in _loaded:
            text = path.read_text(encoding="utf-8")
            _loaded[key] = parse_rates(text, pipeline.currency, pipeline.timezone, str(path))
    except OSError as exc:
        raise ConfigError(
            f"KPIFLOW_EXCHANGE_RATES_FILE={path}: cannot read it ({exc.strerror or exc})"
        ) from None
    return _loaded[key]


def table_for(pipeline) -> ExchangeRates:
    """What a new definition version converts with: the configured table, or an empty one (an
    amount in another currency then has no value; validation refuses such events anyway)."""
    return configured_rates(pipeline) or ExchangeRates(pipeline.currency, pipeline.timezone, ())
