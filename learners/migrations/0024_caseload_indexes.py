"""Indexes for the caseload table (``/dashboard/learners/``): learners still studying, in each
order the table offers, so a page reads its 25 rows from an index instead of sorting the list.

The list orders with a missing value lowest and the id breaking ties
(``learners.filters.StableOrderingFilter``): ``col ASC NULLS FIRST, id`` read forwards or
backwards serves both directions. Written in SQL because an index cannot say ``NULLS FIRST`` on
SQLite, where an ascending index puts NULLs first anyway; the model's state does not list them.
Measured at 100,000 learners: see ``learners/caseload.py`` and the caseload notes in
``benchmarks/README.md``.
"""

from typing import Any

from django.db import migrations

STUDYING = "status IN ('active', 'paused')"
INDEXES = {
    "learner_studying_risk": ("risk_score", "id"),
    "learner_studying_band_risk": ("risk_band", "risk_score", "id"),
    "learner_studying_last_active": ("last_active_at", "id"),
    "learner_studying_enrolled": ("enrolled_at", "id"),
}
NULLABLE_ORDER = {"risk_score", "last_active_at", "enrolled_at"}


def create(apps: Any, schema_editor: Any) -> None:
    postgres = schema_editor.connection.vendor == "postgresql"
    for name, columns in INDEXES.items():
        written = ", ".join(
            f"{column} ASC NULLS FIRST" if postgres and column in NULLABLE_ORDER else column
            for column in columns
        )
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON learners_learner ({written}) WHERE {STUDYING}"
        )


def drop(apps: Any, schema_editor: Any) -> None:
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("learners", "0023_coach_note"),
    ]

    operations = [migrations.RunPython(create, drop)]
