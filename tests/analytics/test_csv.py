"""The generic CSV renderer of the platform (engagement/api/csv.py)."""

from engagement.api.csv import csv_lines, flat_row
from engagement.spreadsheets import cell


def test_nested_objects_spread_into_prefixed_columns() -> None:
    assert flat_row({"day": "d", "events": {"login": 2}}) == {"day": "d", "events_login": 2}


def test_cells_that_a_spreadsheet_would_run_are_quoted() -> None:
    assert cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert cell("@x") == "'@x"
    assert cell(-3) == -3
    assert cell(None) == ""
    assert cell(["a", "b"]) == "a; b"


def test_header_lists_given_columns_first() -> None:
    text = "".join(csv_lines([{"b": 1, "a": 2}], ["a"]))
    assert text.splitlines() == ["a,b", "2,1"]
