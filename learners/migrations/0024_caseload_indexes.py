"""Indexes for the caseload table (``/dashboard/learners/``): learners still studying, in each
order the table offers, so a page reads its 25 rows from an index instead of sorting the list.

The list orders with a missing value lowest and the id breaking ties
(``learners.filters.StableOrderingFilter``): ``col ASC NULLS FIRST, id`` read forwards or
backwards serves both directions. Written in SQL because an index cannot say ``NULLS FIRST`` on
SQLite, where an ascending index puts NULLs first anyway; the model's state does not list them.
On PostgreSQL they are built ``CONCURRENTLY`` (outside a transaction, so the migration is not
atomic): writes to ``learners_learner`` go on while they build. A build interrupted there leaves
an invalid index behind, which ``CREATE INDEX IF NOT EXISTS`` would keep: drop it
(``DROP INDEX CONCURRENTLY name``) and migrate again.
Measured at 100,000 learners: see ``learners/caseload.py`` and the caseload notes in
``benchmarks/README.md``.
"""

from collections.abc import Mapping
from functools import partial
from typing import Any

from django.db import migrations

from learners.models import STUDYING_STATUSES

STUDYING = "status IN ({})".format(", ".join(f"'{status}'" for status in STUDYING_STATUSES))
INDEXES = {
    "learner_studying_risk": ("risk_score", "id"),
    "learner_studying_band_risk": ("risk_band", "risk_score", "id"),
    "learner_studying_last_active": ("last_active_at", "id"),
    "learner_studying_enrolled": ("enrolled_at", "id"),
}
NULLABLE_ORDER = {"risk_score", "last_active_at", "enrolled_at"}


def _concurrently(schema_editor: Any) -> str:
    return "CONCURRENTLY " if schema_editor.connection.vendor == "postgresql" else ""


def create_indexes(indexes: Mapping[str, tuple[str, ...]], apps: Any, schema_editor: Any) -> None:
    """Build ``indexes`` (name to columns) over studying learners; later caseload migrations
    reuse it for theirs."""
    postgres = schema_editor.connection.vendor == "postgresql"
    for name, columns in indexes.items():
        written = ", ".join(
            f"{column} ASC NULLS FIRST" if postgres and column in NULLABLE_ORDER else column
            for column in columns
        )
        schema_editor.execute(
            f"CREATE INDEX {_concurrently(schema_editor)}IF NOT EXISTS {name} "
            f"ON learners_learner ({written}) WHERE {STUDYING}"
        )


def drop_indexes(indexes: Mapping[str, tuple[str, ...]], apps: Any, schema_editor: Any) -> None:
    for name in indexes:
        schema_editor.execute(f"DROP INDEX {_concurrently(schema_editor)}IF EXISTS {name}")


class Migration(migrations.Migration):
    atomic = False  # PostgreSQL builds an index CONCURRENTLY only outside a transaction

    dependencies = [
        ("learners", "0023_coach_note"),
    ]

    operations = [
        migrations.RunPython(partial(create_indexes, INDEXES), partial(drop_indexes, INDEXES))
    ]
