"""The CSV reader: every row with its line number, a broken row never the end of the file."""

from __future__ import annotations

import pytest

from kpiflow.streams.crm_import.rows import CsvHeaderError, CsvReader, Record, RowProblem


def read(text: str | bytes, delimiter: str = ","):
    data = text.encode() if isinstance(text, str) else text
    return list(CsvReader(data.splitlines(keepends=True), delimiter))


def cells(items):
    return [(i.line, i.cells) if isinstance(i, Record) else (i.line, str(i)) for i in items]


def test_quoted_fields_hold_delimiters_quotes_and_line_breaks():
    items = read('id,name,note\n1,"Acme, Inc.","said ""hi"""\n2,Beta,"two\nlines"\n3,Cee,x\n')
    assert cells(items) == [
        (2, {"id": "1", "name": "Acme, Inc.", "note": 'said "hi"'}),
        (3, {"id": "2", "name": "Beta", "note": "two\nlines"}),
        (5, {"id": "3", "name": "Cee", "note": "x"}),
    ]


def test_a_quote_never_closed_is_one_bad_row_not_the_rest_of_the_file():
    text = 'id,name\n1,"Acme\n2,Beta\n3,Cee\n4,"Dee\n5,Eee\n'
    items = read(text)
    assert [(i.line, type(i).__name__) for i in items] == [
        (2, "RowProblem"),
        (3, "Record"),
        (4, "Record"),
        (5, "RowProblem"),
        (6, "Record"),
    ]
    assert "broken quoting" in items[0].reason


def test_text_after_a_closing_quote_is_broken_quoting():
    (item, good) = read('id,name\n1,"Acme"x\n2,Beta\n')
    assert isinstance(item, RowProblem) and item.line == 2 and "broken quoting" in item.reason
    assert isinstance(good, Record) and good.cells["name"] == "Beta"


def test_wrong_field_count_blank_lines_bom_and_bytes_that_are_not_utf8():
    data = b"\xef\xbb\xbfid;name\n1;Acme\n\n2;Beta;extra\n3;\xff\xfe\n;\n4;Dee\n"
    items = read(data, ";")
    assert cells(items) == [
        (2, {"id": "1", "name": "Acme"}),
        (4, "line 4: -: 3 fields, the header has 2 (a stray delimiter?)"),
        (5, "line 5: -: not UTF-8 text"),
        (7, {"id": "4", "name": "Dee"}),
    ]


def test_windows_line_ends():
    assert cells(read("id,name\r\n1,Acme\r\n")) == [(2, {"id": "1", "name": "Acme"})]


@pytest.mark.parametrize(
    ("text", "says"),
    [("", "empty"), ("\n\n", "empty"), ("id,id\n", "twice"), ("id,,x\n", "empty column name")],
)
def test_header_problems(text, says):
    with pytest.raises(CsvHeaderError, match=says):
        CsvReader(text.encode().splitlines(keepends=True)).read_header()
