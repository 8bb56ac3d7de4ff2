"""Nudges made directly with the models, for the lifecycle tests (generation is tested on its
own): a draft email to a studying learner, by default."""

from datetime import UTC, datetime
from typing import Any, cast

import factory

from nudges.models import Channel, Nudge, NudgeSource, NudgeStatus
from tests.factories import LearnerFactory

#: A Wednesday, 12:00 UTC: outside quiet hours in UTC and in Paris.
NOON = datetime(2026, 10, 14, 12, 0, tzinfo=UTC)


def pin_policy(settings: Any) -> None:
    """The contact policy the lifecycle tests count with, whatever the environment says."""
    settings.NUDGE_MAX_PER_WEEK = 2
    settings.NUDGE_MIN_GAP_HOURS = 48
    settings.NUDGE_QUIET_HOURS_START = 21
    settings.NUDGE_QUIET_HOURS_END = 8
    settings.NUDGE_DUPLICATE_DAYS = 30


class NudgeFactory(factory.django.DjangoModelFactory[Nudge]):
    class Meta:
        model = Nudge

    learner = factory.SubFactory(LearnerFactory)
    channel = Channel.EMAIL
    status = NudgeStatus.DRAFT
    source = NudgeSource.TEMPLATE
    # Random prose: two factory nudges are never near-duplicates of each other.
    subject = factory.Faker("sentence", nb_words=5)
    body = factory.Faker("paragraph", nb_sentences=4)


def make_nudge(**fields: Any) -> Nudge:
    """A stored nudge (``NudgeFactory`` typed as the model)."""
    return cast(Nudge, NudgeFactory(**fields))


def sent_nudge(learner: Any, at: datetime, **fields: Any) -> Nudge:
    """A nudge sent to ``learner`` at ``at`` (history the policy counts)."""
    return make_nudge(learner=learner, status=NudgeStatus.SENT, sent_at=at, **fields)
