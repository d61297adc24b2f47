"""The rows of a CSV export, each with its line number; a broken row is a `RowProblem`, never the
end of the file.

Quoted fields may hold the delimiter, quotes (doubled) and line breaks. A quote that is never
closed would make a plain CSV reader swallow the rest of the file into one field; here a record
that spans lines is accepted only when it closes within `MAX_RECORD_LINES` lines and has as many
fields as the header, otherwise its first line is reported as broken quoting and reading goes on
with the next line.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

MAX_RECORD_LINES = 20


@dataclass(frozen=True)
class RowProblem:
    """Why the row on `line` was skipped; `column` is a header name, or `-` for the row."""

    line: int
    column: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.column}: {self.reason}"


@dataclass(frozen=True)
class Record:
    line: int
    cells: dict[str, str]

    def get(self, column: str | None) -> str:
        """The cell of `column`, stripped; '' when the mapping names no column."""
        return self.cells.get(column, "") if column else ""


class CsvHeaderError(ValueError):
    """The file has no usable header line."""


class CsvReader:
    """Records of one export. `header` is known after the first record is read (or at once with
    `read_header()`)."""

    def __init__(self, lines: Iterable[bytes], delimiter: str = ",") -> None:
        self._lines = iter(enumerate(lines, start=1))
        self.delimiter = delimiter
        self.header: list[str] = []
        self._pending: list[tuple[int, str | None]] = []

    def read_header(self) -> list[str]:
        if self.header:
            return self.header
        for number, text in self._physical():
            if text is None or not text.strip():
                continue
            try:
                fields = self._parse(text)
            except csv.Error as exc:
                raise CsvHeaderError(f"line {number}: the header is not valid CSV: {exc}") from None
            names = [f.strip() for f in fields]
            if not any(names):
                continue
            seen: set[str] = set()
            for name in names:
                if not name:
                    raise CsvHeaderError(f"line {number}: the header has an empty column name")
                if name in seen:
                    raise CsvHeaderError(f"line {number}: the header names {name!r} twice")
                seen.add(name)
            self.header = names
            return names
        raise CsvHeaderError("the file is empty: no header line")

    def __iter__(self) -> Iterator[Record | RowProblem]:
        header = self.read_header()
        width = len(header)
        for number, text in self._physical():
            if text is None:
                yield RowProblem(number, "-", "not UTF-8 text")
                continue
            if not text.strip():
                continue
            fields, problem = self._record(number, text, width)
            if problem is not None:
                yield problem
                continue
            assert fields is not None
            if not any(f.strip() for f in fields):
                continue  # a row of empty cells (spreadsheets leave them)
            if len(fields) != width:
                yield RowProblem(
                    number,
                    "-",
                    f"{len(fields)} fields, the header has {width} (a stray delimiter?)",
                )
                continue
            yield Record(
                number, {name: cell.strip() for name, cell in zip(header, fields, strict=True)}
            )

    def _record(
        self, number: int, text: str, width: int
    ) -> tuple[list[str] | None, RowProblem | None]:
        try:
            return self._parse(text), None
        except csv.Error as exc:
            if "unexpected end of data" not in str(exc):
                return None, RowProblem(number, "-", f"broken quoting: {exc}")
        # an open quote: a field with line breaks, or a quote never closed
        taken: list[tuple[int, str | None]] = []
        joined = text
        while len(taken) < MAX_RECORD_LINES - 1:
            following = self._next()
            if following is None:
                break
            taken.append(following)
            if following[1] is None:
                break
            joined += following[1]
            try:
                fields = self._parse(joined)
            except csv.Error as exc:
                if "unexpected end of data" in str(exc):
                    continue
                break
            if len(fields) == width:
                return fields, None
            break
        self._pending = taken + self._pending  # read them again as rows of their own
        return None, RowProblem(number, "-", "broken quoting: a quote that is never closed")

    def _parse(self, text: str) -> list[str]:
        if '"' not in text:
            return text.rstrip("\r\n").split(self.delimiter)
        rows = list(csv.reader(io.StringIO(text), delimiter=self.delimiter, strict=True))
        if len(rows) != 1:
            raise csv.Error("more than one record")
        return rows[0]

    def _physical(self) -> Iterator[tuple[int, str | None]]:
        while True:
            item = self._next()
            if item is None:
                return
            yield item

    def _next(self) -> tuple[int, str | None] | None:
        if self._pending:
            return self._pending.pop(0)
        try:
            number, raw = next(self._lines)
        except StopIteration:
            return None
        if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        try:
            return number, raw.decode("utf-8")
        except UnicodeDecodeError:
            return number, None
