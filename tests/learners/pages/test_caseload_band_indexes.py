"""The caseload's band-filter indexes exist, on the columns the band filter's queries need
(their effect is measured at 100,000 learners in benchmarks/README.md, ``dashboard.py``)."""

import pytest
from django.db import connection

EXPECTED = {
    "learner_studying_cohort_band": ["cohort_id", "risk_band"],
    "learner_studying_band_last_active": ["risk_band", "last_active_at", "id"],
}


@pytest.mark.django_db
def test_band_filter_indexes_cover_the_coach_count_and_the_last_activity_order() -> None:
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, "learners_learner")
    found = {name: constraints[name]["columns"] for name in EXPECTED if name in constraints}
    assert found == EXPECTED
    assert all(constraints[name]["index"] for name in EXPECTED)
