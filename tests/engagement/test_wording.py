"""Counts in messages are worded in the right number."""

import pytest

from engagement.wording import counted


@pytest.mark.parametrize(
    ("count", "singular", "plural", "grouped", "expected"),
    [
        (0, "assessment", "", False, "0 assessments"),
        (1, "assessment", "", False, "1 assessment"),
        (2, "assessment", "", False, "2 assessments"),
        (1.2, "day", "", False, "1 day"),
        (0.6, "day", "", False, "1 day"),
        (1.6, "day", "", False, "2 days"),
        (1, "person", "people", False, "1 person"),
        (3, "person", "people", False, "3 people"),
        (1234, "event", "", True, "1,234 events"),
        (1, "event", "", True, "1 event"),
    ],
)
def test_counted(count: float, singular: str, plural: str, grouped: bool, expected: str) -> None:
    assert counted(count, singular, plural, grouped=grouped) == expected
