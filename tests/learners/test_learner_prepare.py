"""The rules for what a learner row derives (lookup hashes, the finish time) live in one service
helper, ``learner_prepare``, which every writer calls: the model's ``save()`` holds none."""

from datetime import UTC, date, datetime

import pytest
from rest_framework.test import APIClient

from engagement.crypto import keyed_hash, word_tokens
from learners.demo.writer import demo_population_seed
from learners.models import Learner
from learners.privacy import database_anonymise, learner_erase
from learners.services import learner_prepare, learners_import
from tests.factories import CohortFactory, LearnerFactory

pytestmark = pytest.mark.django_db


def test_learner_prepare_derives_lookup_keys_and_the_finish_time() -> None:
    cohort = CohortFactory(ends_on=date(2026, 10, 31), timezone="UTC")
    learner = Learner(
        cohort=cohort,
        name="Ada  Lovelace",
        email="  Ada@Example.ORG ",
        status="completed",
        enrolled_at=datetime(2026, 9, 1, tzinfo=UTC),
    )

    derived = learner_prepare(
        learner, changed=["email", "status"], now=datetime(2026, 12, 1, tzinfo=UTC)
    )

    assert learner.email == "ada@example.org"
    assert learner.email_hash == keyed_hash("ada@example.org")
    assert learner.name_tokens == " ".join(word_tokens("Ada Lovelace"))
    assert learner.finished_at == datetime(2026, 11, 1, tzinfo=UTC)  # when the course closed
    assert derived == ["email", "email_hash", "finished_at"]
    learner.status = "active"
    assert learner_prepare(learner, changed=["locale"]) == []
    assert learner.finished_at is None  # still studying: no finish time


def test_saving_a_learner_applies_no_business_rule() -> None:
    """The model keeps invariants only: a raw save stores what it is given."""
    learner = Learner(
        cohort=CohortFactory(),
        source="lms",
        external_id="raw-1",
        email="Raw@Example.org",
        enrolled_at=datetime(2026, 9, 1, tzinfo=UTC),
    )
    learner.save()
    stored = Learner.objects.get(pk=learner.pk)
    assert (stored.email, stored.email_hash) == ("Raw@Example.org", "")


def _consistent(learner: Learner) -> bool:
    return learner.email_hash == keyed_hash(learner.email) and learner.name_tokens == " ".join(
        word_tokens(learner.name)
    )


def test_every_writer_stores_the_derived_values(auth_client: APIClient) -> None:
    cohort = CohortFactory()
    created = auth_client.post(
        "/api/v1/learners/",
        {
            "cohort": str(cohort.pk),
            "source": "lms",
            "external_id": "api-1",
            "name": "Grace Hopper",
            "email": "Grace@Example.org",
            "enrolled_at": "2026-09-01T09:00:00Z",
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    updated = LearnerFactory()
    response = auth_client.patch(
        f"/api/v1/learners/{updated.pk}/",
        {"email": "NEW@example.org", "name": "New Name", "status": "withdrawn"},
        format="json",
    )
    assert response.status_code == 200, response.content
    rows = [
        (
            2,
            {
                "external_id": "csv-1",
                "source": "lms",
                "cohort": "CSV cohort",
                "name": "Csv Person",
                "email": "CSV@example.org",
                "status": "completed",
                "enrolled_at": "2026-09-01T09:00:00Z",
            },
        )
    ]
    list(learners_import(rows=rows, via="test"))
    erased = learner_erase(actor=None, learner=LearnerFactory(email="gone@example.org"))
    demo_population_seed(cohorts=1, learners=5, days=40, seed=3, today=date(2026, 6, 1))

    learners = list(Learner.objects.select_related("cohort"))
    assert all(_consistent(learner) for learner in learners)
    by_id = {learner.external_id: learner for learner in learners}
    assert by_id["api-1"].email == "grace@example.org"
    assert by_id["csv-1"].finished_at is not None  # the default finish time
    stored = Learner.objects.get(pk=updated.pk)
    assert stored.email_hash == keyed_hash("new@example.org") and stored.finished_at is not None
    assert Learner.objects.get(pk=erased.pk).email_hash == keyed_hash("")

    database_anonymise()
    assert all(_consistent(learner) for learner in Learner.objects.all())
