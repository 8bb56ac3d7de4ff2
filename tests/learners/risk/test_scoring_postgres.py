"""What only a real PostgreSQL shows: two rescoring runs at once neither duplicate nor deadlock."""

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from learners.models import Learner, RiskAssessment
from learners.risk.services import RescoreSummary, learners_rescore
from tests.factories import ActivityEventFactory, CohortFactory, LearnerFactory


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_rescoring_runs() -> None:
    cohort = CohortFactory()
    for index, learner in enumerate(LearnerFactory.create_batch(60, cohort=cohort)):
        ActivityEventFactory(
            learner=learner, occurred_at=timezone.now() - timedelta(days=index % 30)
        )
    as_of = timezone.now()

    def run(_: int) -> RescoreSummary:
        try:
            return learners_rescore(as_of=as_of, chunk_size=7)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=4) as pool:
        summaries = list(pool.map(run, range(4)))
    assert all(summary.learners == 60 for summary in summaries)
    assert sum(summary.assessments_created for summary in summaries) == 60
    assert RiskAssessment.objects.count() == 60
    assert not Learner.objects.filter(risk_score__isnull=True).exists()
