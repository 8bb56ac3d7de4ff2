"""Two more caseload indexes, for the band filter (``/dashboard/learners/?band=high``).

Measured at 100,000 learners (``benchmarks/dashboard.py``, benchmarks/README.md): a coach's
capped count of one band read the whole learner table (a sequential scan, 50-70 ms: no index
leads with the cohort and holds the band), and "band, last activity first" read about 13,000
entries of ``learner_studying_last_active`` to find 25 rows in that band (12-25 ms). With these
the count is an index-only scan of the coach's cohorts (2 ms) and the rows an index range (under
1 ms). Built as ``0024_caseload_indexes`` builds its own (learners still studying, NULLs first,
``CONCURRENTLY`` on PostgreSQL).
"""

import importlib
from functools import partial

from django.db import migrations

caseload = importlib.import_module("learners.migrations.0024_caseload_indexes")

INDEXES = {
    "learner_studying_cohort_band": ("cohort_id", "risk_band"),
    "learner_studying_band_last_active": ("risk_band", "last_active_at", "id"),
}


class Migration(migrations.Migration):
    atomic = False  # PostgreSQL builds an index CONCURRENTLY only outside a transaction

    dependencies = [
        ("learners", "0026_import_upload_encrypted"),
    ]

    operations = [
        migrations.RunPython(
            partial(caseload.create_indexes, INDEXES), partial(caseload.drop_indexes, INDEXES)
        )
    ]
