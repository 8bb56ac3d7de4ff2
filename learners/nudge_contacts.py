"""What the nudges app needs to reach learners (exported through ``learners.contracts``): how to
contact each one, whether they may be contacted at all, and their wish to hear no more.

Set-based: one query whatever the number of learners. Personal data: ``email`` and
``first_name`` are for delivery and the message only, never for logs or the LLM.
"""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction

from engagement.audit import Actor, audit_record
from learners.cache import learner_detail_forget, learners_data_changed
from learners.models import Learner


@dataclass(frozen=True, slots=True)
class LearnerContact:
    """How to reach one learner and whether they may be nudged: ``studying`` is false once they
    completed or withdrew, ``nudge_opt_out`` true when they asked for no nudge at all."""

    learner_id: uuid.UUID
    cohort_id: uuid.UUID
    first_name: str
    email: str
    locale: str
    timezone: str
    studying: bool
    nudge_opt_out: bool


def learner_contacts(learner_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, LearnerContact]:
    """The contacts of the known learners among ``learner_ids`` (unknown ones are absent), in
    one query."""
    learners = Learner.objects.filter(id__in=set(learner_ids)).only(
        "id", "cohort_id", "name", "email", "locale", "timezone", "finished_at", "nudge_opt_out"
    )
    return {
        learner.pk: LearnerContact(
            learner_id=learner.pk,
            cohort_id=learner.cohort_id,
            first_name=(learner.name.split() or [""])[0],
            email=learner.email,
            locale=learner.locale,
            timezone=learner.timezone,
            studying=learner.finished_at is None,
            nudge_opt_out=learner.nudge_opt_out,
        )
        for learner in learners
    }


@transaction.atomic
def learner_nudge_opt_out(*, learner_id: uuid.UUID, actor: Actor, source: str) -> bool:
    """Record a learner's wish to receive no nudge at all (an unsubscribe link, staff); returns
    whether it changed anything. Audited, like every change of a learner."""
    changed = Learner.objects.filter(pk=learner_id, nudge_opt_out=False).update(nudge_opt_out=True)
    if changed:
        learner_detail_forget([learner_id])
        learners_data_changed()
        audit_record(
            actor=actor,
            action="learner.nudge_opt_out",
            target_type="learners.learner",
            target_id=str(learner_id),
            changes={"nudge_opt_out": True, "source": source},
        )
    return bool(changed)
