"""Two more caseload indexes, for the band filter (``/dashboard/learners/?band=high``).

Measured at 100,000 learners (``benchmarks/dashboard.py``, benchmarks/README.md): a coach's
capped count of one band read the whole learner table (a sequential scan, 50-70 ms: no index
leads with the cohort and holds the band), and "band, last activity first" read about 13,000
entries of ``learner_studying_last_active`` to find 25 rows in that band (12-25 ms). With these
the count is an index-only scan of the coach's cohorts (2 ms) and the rows an index range (under
1 ms). Same form as ``0024_caseload_indexes`` (learners still studying, NULLs first).
"""

import importlib
from typing import Any

from django.db import migrations

caseload = importlib.import_module("learners.migrations.0024_caseload_indexes")

INDEXES = {
    "learner_studying_cohort_band": ("cohort_id", "risk_band"),
    "learner_studying_band_last_active": ("risk_band", "last_active_at", "id"),
}


def create(apps: Any, schema_editor: Any) -> None:
    postgres = schema_editor.connection.vendor == "postgresql"
    for name, columns in INDEXES.items():
        written = ", ".join(
            f"{column} ASC NULLS FIRST"
            if postgres and column in caseload.NULLABLE_ORDER
            else column
            for column in columns
        )
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON learners_learner ({written}) "
            f"WHERE {caseload.STUDYING}"
        )


def drop(apps: Any, schema_editor: Any) -> None:
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("learners", "0024_caseload_indexes"),
    ]

    operations = [migrations.RunPython(create, drop)]
