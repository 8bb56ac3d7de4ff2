"""A learner's (source, external id) is unique platform-wide; a refusal discloses nothing more."""

from concurrent.futures import ThreadPoolExecutor
from threading import Barrier
from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient

from learners.models import Learner
from learners.services import DUPLICATE_IDENTITY
from tests.factories import CohortAssignmentFactory, CohortFactory, LearnerFactory, UserFactory

URL = "/api/v1/learners/"
CONCURRENT_CREATES = 5


def _body(cohort: Any, external_id: str) -> dict[str, str]:
    return {
        "cohort": str(cohort.pk),
        "source": "lms",
        "external_id": external_id,
        "enrolled_at": "2026-09-01T00:00:00Z",
    }


@pytest.mark.django_db
def test_a_taken_external_id_gets_one_answer_in_scope_or_not() -> None:
    mine, theirs = CohortFactory(), CohortFactory(name="Secret cohort")
    coach = UserFactory(role="coach")
    CohortAssignmentFactory(user=coach, cohort=mine)
    inside = LearnerFactory(cohort=mine, external_id="IN")
    outside = LearnerFactory(cohort=theirs, external_id="OUT", name="Hidden Person")
    client = APIClient()
    client.force_authenticate(coach)
    answers = [client.post(URL, _body(mine, ext), format="json") for ext in ("IN", "OUT")]
    assert [answer.status_code for answer in answers] == [400, 400]
    assert answers[0].json() == answers[1].json() == {"external_id": [DUPLICATE_IDENTITY]}
    leaked = answers[1].content.decode()
    for secret in (str(outside.pk), str(theirs.pk), theirs.name, "Hidden Person", str(inside.pk)):
        assert secret not in leaked
    assert Learner.objects.filter(external_id__in=["IN", "OUT"]).count() == 2


def _create_in_own_connection(user: Any, body: dict[str, str], start: Barrier) -> int:
    try:
        client = APIClient()
        client.force_authenticate(user)
        start.wait()
        return client.post(URL, body, format="json").status_code
    finally:
        connection.close()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_creations_of_one_identity_store_one_learner_and_refuse_the_rest() -> None:
    admin, cohort = UserFactory(role="admin"), CohortFactory()
    start = Barrier(CONCURRENT_CREATES)
    body = _body(cohort, "RACE")
    with ThreadPoolExecutor(max_workers=CONCURRENT_CREATES) as pool:
        codes = list(
            pool.map(
                _create_in_own_connection,
                [admin] * CONCURRENT_CREATES,
                [body] * CONCURRENT_CREATES,
                [start] * CONCURRENT_CREATES,
            )
        )
    assert sorted(codes) == [201] + [400] * (CONCURRENT_CREATES - 1)
    assert Learner.objects.filter(external_id="RACE").count() == 1
