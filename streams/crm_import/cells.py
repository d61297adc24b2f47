"""Reading the cells of an export: dates as the mapping says, amounts, yes/no answers.

Each reader raises `CellError` with a message for people; the row reader adds the line and the
column.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo


class CellError(ValueError):
    """A cell that cannot be read as the mapping says."""


DATE_ORDERS = ("iso", "day_first", "month_first")

_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_DMY_DATE = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})")
_TIME = re.compile(
    r"(?:[Tt ]+(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6})\d*)?)?)?"
    r"\s*(?:([Zz])|([+-])(\d{2}):?(\d{2}))?"
)


class DateReader:
    """Dates and date-times of one export.

    `order`: `iso` (2026-11-04), `day_first` (04/11/2026, 4.11.2026) or `month_first`
    (11/04/2026); ISO dates are read in every order. A time (`14:03`, `14:03:12`, `T14:03:12.5`)
    is optional; without one the moment is local midnight. A moment without an offset is local
    time in `zone` (on a DST change: a time that does not exist moves forward by the gap, an
    ambiguous one is the first of the two); one with an offset (`Z`, `+01:00`) keeps it.
    """

    def __init__(self, order: str, zone: ZoneInfo) -> None:
        if order not in DATE_ORDERS:
            raise ValueError(f"unknown date order {order!r}; one of {', '.join(DATE_ORDERS)}")
        self.order = order
        self.zone = zone
        self._seen: dict[str, datetime] = {}

    def moment(self, text: str) -> datetime:
        found = self._seen.get(text)
        if found is None:
            found = self._read(text)
            if len(self._seen) < 100_000:  # exports repeat their dates: read each once
                self._seen[text] = found
        return found

    def _read(self, text: str) -> datetime:
        text = text.strip()
        day, rest = self._date(text)
        found = _TIME.fullmatch(rest)
        if found is None:
            raise CellError(f"{text!r} is not a date{self._hint()}")
        hour, minute, second, fraction, utc, sign, off_h, off_m = found.groups()
        try:
            clock = time(
                int(hour or 0),
                int(minute or 0),
                int(second or 0),
                int((fraction or "0").ljust(6, "0")),
            )
        except ValueError:
            raise CellError(f"{text!r} has no valid time of day") from None
        naive = datetime.combine(day, clock)
        if utc:
            return naive.replace(tzinfo=timezone.utc)
        if sign:
            offset = timedelta(hours=int(off_h), minutes=int(off_m))
            return naive.replace(tzinfo=timezone(-offset if sign == "-" else offset))
        return _local(naive, self.zone)

    def _date(self, text: str) -> tuple[date, str]:
        iso = _ISO_DATE.match(text)
        if iso:
            year, month, day = (int(g) for g in iso.groups())
        else:
            other = _DMY_DATE.match(text) if self.order != "iso" else None
            if other is None:
                raise CellError(f"{text!r} is not a date{self._hint()}")
            first, second, year = (int(g) for g in other.groups())
            day, month = (first, second) if self.order == "day_first" else (second, first)
            iso = other
        try:
            return date(year, month, day), text[iso.end() :]
        except ValueError:
            raise CellError(f"{text!r} is not a date on the calendar{self._hint()}") from None

    def _hint(self) -> str:
        return {
            "iso": " (dates.order is iso: YYYY-MM-DD, optionally a time; set dates.order to "
            "day_first or month_first for 04/11/2026)",
            "day_first": " (dates.order is day_first: DD/MM/YYYY or YYYY-MM-DD, optionally a time)",
            "month_first": " (dates.order is month_first: MM/DD/YYYY or YYYY-MM-DD, optionally "
            "a time)",
        }[self.order]


def _local(naive: datetime, zone: ZoneInfo) -> datetime:
    """A wall-clock time in `zone`: a time skipped by DST moves forward by the gap."""
    # fold=0 reads a skipped time with the offset before the gap (so the round trip lands
    # after it) and an ambiguous time as the first of the two. The result carries a fixed
    # offset: a zoneinfo time in a repeated hour never equals any instant of another zone, and
    # two of them compare by wall time.
    local = naive.replace(tzinfo=zone).astimezone(timezone.utc).astimezone(zone)
    offset = local.utcoffset()
    assert offset is not None
    return local.replace(tzinfo=timezone(offset))


_AMOUNT = re.compile(r"\d+(\.\d+)?")


def amount(text: str) -> str:
    """A non-negative decimal as the contract writes it (`12500`, `12500.50`). A thousands
    separator or currency sign is an error, not a guess (say the format in the mapping)."""
    value = text.strip()
    if value.startswith("-"):
        raise CellError(f"{text!r} is negative; an amount is >= 0")
    if not _AMOUNT.fullmatch(value):
        raise CellError(f"{text!r} is not an amount (digits with an optional .fraction)")
    return value


TRUE_WORDS = ("yes", "y", "true", "1", "x")
FALSE_WORDS = ("no", "n", "false", "0")


def yes_no(text: str, true_words: tuple[str, ...], false_words: tuple[str, ...]) -> bool | None:
    """True, False, or None for an empty cell (the criterion is absent, hence not true)."""
    value = text.strip().lower()
    if not value:
        return None
    if value in true_words:
        return True
    if value in false_words:
        return False
    raise CellError(
        f"{text!r} is neither yes ({', '.join(true_words)}) nor no ({', '.join(false_words)})"
    )
