"""The README's CSV tables and the import page say what the import code does: every column is
in the header (cells of some may be empty), ``finished_at`` may be left out."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from engagement.models import Role
from learners.ingestion.csv import (
    ACTIVITY_BLANK_COLUMNS,
    ACTIVITY_COLUMNS,
    LEARNER_BLANK_COLUMNS,
    LEARNER_COLUMNS,
    missing_columns_message,
)
from tests.factories import UserFactory


def _readme_rows() -> dict[str, str]:
    """Column name to its "in the header" cell, over both CSV tables of the README."""
    readme = (Path(settings.BASE_DIR) / "README.md").read_text()
    section = readme.split("## CSV formats", 1)[1].split("### Uploading", 1)[0]
    return dict(re.findall(r"^\| `(\w+)` \| ([^|]+) \|", section, flags=re.MULTILINE))


@pytest.mark.parametrize(
    ("columns", "blank"),
    [(LEARNER_COLUMNS, LEARNER_BLANK_COLUMNS), (ACTIVITY_COLUMNS, ACTIVITY_BLANK_COLUMNS)],
)
def test_readme_marks_every_header_column_as_the_code_requires(
    columns: tuple[str, ...], blank: tuple[str, ...]
) -> None:
    rows = _readme_rows()
    for column in columns:
        expected = "yes (cells may be empty)" if column in blank else "yes"
        assert rows[column].strip() == expected, column
    assert rows["finished_at"].startswith("no")
    assert missing_columns_message([c for c in columns if c not in blank], columns) is not None


@pytest.mark.django_db
def test_import_page_says_which_columns_the_header_needs_and_which_cells_may_be_empty() -> None:
    client = Client()
    client.force_login(UserFactory(role=Role.ADMIN))
    html = client.get("/dashboard/imports/").content.decode()
    assert "The header names every one of:" in html
    assert "Cells of these columns may be empty: <code>name</code>, <code>email</code>, " in html
    assert "<code>duration_seconds</code>, <code>score</code>." in html
    assert "Optional columns (the header may leave them out): <code>finished_at</code>." in html
