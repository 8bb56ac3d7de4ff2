"""A small caseload: two cohorts (the coach works with the first), scored by the rules model."""

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from learners.models import Cohort, Learner, LearnerStatus
from learners.risk.services import learners_rescore
from tests.factories import (
    ActivityEventFactory,
    CohortAssignmentFactory,
    CohortFactory,
    LearnerFactory,
    UserFactory,
)

URL = "/dashboard/learners/"
EXPORT_URL = "/dashboard/learners/export.csv"


@dataclass
class Caseload:
    mine: Cohort
    other: Cohort
    drifting: Learner  # mine, high risk: inactive for 19 days
    steady: Learner  # mine, active yesterday
    finished: Learner  # mine, completed
    outsider: Learner  # the other cohort
    coach: Any
    admin: Any
    analyst: Any


@pytest.fixture
def caseload(db: None, rules_model: Any) -> Caseload:
    now = timezone.now()
    mine = CohortFactory(name="Mine")
    other = CohortFactory(name="Other")
    enrolled = now - timedelta(days=50)
    drifting = LearnerFactory(
        cohort=mine, name="Dora Drift", external_id="drift-1", enrolled_at=enrolled
    )
    steady = LearnerFactory(
        cohort=mine, name="Sam Steady", external_id="steady-1", enrolled_at=now - timedelta(days=40)
    )
    finished = LearnerFactory(
        cohort=mine,
        name="Fin Ished",
        external_id="fin-1",
        enrolled_at=enrolled,
        status=LearnerStatus.COMPLETED,
        finished_at=now - timedelta(days=1),
    )
    outsider = LearnerFactory(
        cohort=other, name="Otto Outside", external_id="out-1", enrolled_at=enrolled
    )
    ActivityEventFactory(learner=drifting, occurred_at=now - timedelta(days=19))
    ActivityEventFactory(learner=outsider, occurred_at=now - timedelta(days=19))
    for day in range(1, 30):
        ActivityEventFactory(learner=steady, occurred_at=now - timedelta(days=day))
    learners_rescore()
    Learner.objects.filter(pk=drifting.pk).update(last_active_at=now - timedelta(days=19))
    Learner.objects.filter(pk=outsider.pk).update(last_active_at=now - timedelta(days=19))
    Learner.objects.filter(pk=steady.pk).update(last_active_at=now - timedelta(days=1))
    coach = UserFactory(username="coach", role="coach")
    CohortAssignmentFactory(user=coach, cohort=mine)
    return Caseload(
        mine=mine,
        other=other,
        drifting=Learner.objects.get(pk=drifting.pk),
        steady=Learner.objects.get(pk=steady.pk),
        finished=Learner.objects.get(pk=finished.pk),
        outsider=Learner.objects.get(pk=outsider.pk),
        coach=coach,
        admin=UserFactory(username="boss", role="admin"),
        analyst=UserFactory(username="analyst", role="analyst"),
    )


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client
