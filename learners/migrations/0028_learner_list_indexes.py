"""Indexes for the learner list API (``/api/v1/learners/``), one per order it offers, over every
learner: the API lists finished learners too, so the caseload's partial indexes (learners still
studying, ``0024_caseload_indexes``) serve it only when a filter keeps to studying learners.

Without them every first page read and sorted the whole table (at 100,000 learners about
120 ms a page on a quiet server, 1 s under load; see "Learner lists: query plans" in
``benchmarks/README.md``). The
default order (``external_id, id``) and the orders of ``StableOrderingFilter`` (``col ASC NULLS
FIRST, id``, read forwards or backwards) each read 50 rows from an index now. A coach's page
reads each of their cohorts' first rows from the same order led by the cohort
(``learners.selectors.learner_page``): filtering the whole order by the coach's cohorts read
70,000 rows when their cohorts sat at its far end (60 ms; under 1 ms this way). Built as
``0024_caseload_indexes`` builds its own (``CONCURRENTLY`` on PostgreSQL, the same SQL on
SQLite), but without its ``WHERE``.
"""

import importlib
from functools import partial
from typing import Any

from django.db import migrations

caseload = importlib.import_module("learners.migrations.0024_caseload_indexes")

ORDERS = {
    "external_id_order": ("external_id", "id"),
    "risk_order": ("risk_score", "id"),
    "last_active_order": ("last_active_at", "id"),
    "enrolled_order": ("enrolled_at", "id"),
}
INDEXES = {f"learner_{name}": columns for name, columns in ORDERS.items()} | {
    f"learner_cohort_{name}": ("cohort_id", *columns) for name, columns in ORDERS.items()
}


def create_indexes(apps: Any, schema_editor: Any) -> None:
    postgres = schema_editor.connection.vendor == "postgresql"
    concurrently = "CONCURRENTLY " if postgres else ""
    for name, columns in INDEXES.items():
        written = ", ".join(
            f"{column} ASC NULLS FIRST"
            if postgres and column in caseload.NULLABLE_ORDER
            else column
            for column in columns
        )
        schema_editor.execute(
            f"CREATE INDEX {concurrently}IF NOT EXISTS {name} ON learners_learner ({written})"
        )


class Migration(migrations.Migration):
    atomic = False  # PostgreSQL builds an index CONCURRENTLY only outside a transaction

    dependencies = [
        ("learners", "0027_caseload_band_indexes"),
    ]

    operations = [migrations.RunPython(create_indexes, partial(caseload.drop_indexes, INDEXES))]
