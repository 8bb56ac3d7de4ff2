"""factory-boy factories for every model."""

from datetime import UTC, date, datetime, timedelta
from typing import Any

import factory

from engagement.models import Role, User
from learners.models import (
    ActivityEvent,
    Cohort,
    CohortAssignment,
    EventKind,
    Learner,
    LearnerStatus,
)
from learners.services import learner_prepare


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.org")
    password = factory.django.Password("a-Strong-pass-123")
    role = Role.ADMIN
    is_staff = factory.LazyAttribute(lambda user: user.role == Role.ADMIN)
    is_superuser = factory.LazyAttribute(lambda user: user.role == Role.ADMIN)


class CohortFactory(factory.django.DjangoModelFactory[Cohort]):
    class Meta:
        model = Cohort

    name = factory.Sequence(lambda n: f"Cohort {n}")
    course_code = factory.Sequence(lambda n: f"C{n:03d}")
    starts_on = date(2026, 9, 1)
    ends_on = date(2026, 12, 15)
    timezone = "Europe/London"


class CohortAssignmentFactory(factory.django.DjangoModelFactory[CohortAssignment]):
    """A coach working with a cohort: ``CohortAssignmentFactory(user=coach, cohort=cohort)``."""

    class Meta:
        model = CohortAssignment

    user = factory.SubFactory(UserFactory, role=Role.COACH)
    cohort = factory.SubFactory(CohortFactory)


class LearnerFactory(factory.django.DjangoModelFactory[Learner]):
    class Meta:
        model = Learner

    source = "lms"
    external_id = factory.Sequence(lambda n: f"L{n:05d}")
    cohort = factory.SubFactory(CohortFactory)
    name = factory.Faker("name")
    email = factory.LazyAttribute(lambda learner: f"{learner.external_id.lower()}@example.org")
    status = LearnerStatus.ACTIVE
    enrolled_at = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)
    progress = 0.25

    @classmethod
    def _create(cls, model_class: type[Learner], *args: Any, **kwargs: Any) -> Learner:
        """Derived values as every writer sets them (``learner_prepare``), without validation
        or audit, so tests can store what they need."""
        learner = model_class(*args, **kwargs)
        learner_prepare(learner)
        learner.save()
        return learner


class ActivityEventFactory(factory.django.DjangoModelFactory[ActivityEvent]):
    class Meta:
        model = ActivityEvent

    learner = factory.SubFactory(LearnerFactory)
    kind = EventKind.CONTENT_VIEW
    occurred_at = factory.Sequence(
        lambda n: datetime(2026, 10, 1, tzinfo=UTC) + timedelta(minutes=n)
    )
    duration_seconds = 120
    source = "lms"
    source_event_id = factory.Sequence(lambda n: f"evt-{n}")
