"""Nudges made directly with the models, for the lifecycle tests (generation is tested on its
own): a draft email to a studying learner, by default."""

from datetime import datetime
from typing import Any, cast

import factory

from nudges.models import Channel, Nudge, NudgeSource, NudgeStatus
from tests.factories import LearnerFactory


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
