"""Reads of nudges: the list (scoped to the caller's cohorts, filtered), one nudge, and a
learner's in-app inbox. Each is a constant number of queries whatever the number of rows."""

import uuid
from collections.abc import Mapping
from typing import Any

from django.db.models import QuerySet

from engagement.errors import NotFound
from engagement.filters import filtered
from engagement.ids import row_by_id
from learners.contracts import learner_contacts, visible_cohort_ids
from nudges.filters import NudgeFilter
from nudges.models import Channel, Nudge, NudgeStatus


def nudge_queryset(*, actor: Any) -> QuerySet[Nudge]:
    """Every nudge the caller may see: of learners in their cohorts (a coach), or all."""
    nudges = Nudge.objects.select_related("prompt", "variant").order_by("-created_at", "-id")
    cohorts = visible_cohort_ids(actor=actor)
    return nudges if cohorts is None else nudges.filter(learner__cohort_id__in=cohorts)


def nudge_list(*, actor: Any, filters: Mapping[str, Any] | None = None) -> QuerySet[Nudge]:
    """The caller's nudges, newest first, narrowed by ``filters`` (see :class:`NudgeFilter`)."""
    return filtered(NudgeFilter, nudge_queryset(actor=actor), filters)


def nudge_get(*, actor: Any, nudge_id: Any) -> Nudge:
    """One nudge in the caller's scope; ``NotFound`` otherwise (outside the scope included)."""
    return row_by_id(nudge_queryset(actor=actor), nudge_id, missing="No nudge with this id.")


def learner_in_scope(*, actor: Any, learner_id: Any) -> uuid.UUID:
    """The learner's id, if the learner exists within the caller's scope; ``NotFound`` else."""
    missing = NotFound("No learner with this id.")
    try:
        learner_uuid = learner_id if isinstance(learner_id, uuid.UUID) else uuid.UUID(learner_id)
    except ValueError:
        raise missing from None
    contact = learner_contacts([learner_uuid]).get(learner_uuid)
    cohorts = visible_cohort_ids(actor=actor)
    if contact is None or (cohorts is not None and contact.cohort_id not in cohorts):
        raise missing
    return learner_uuid


def inbox_list(*, learner_id: uuid.UUID) -> QuerySet[Nudge]:
    """The learner's in-app nudges delivered so far, newest first; none once the learner is
    erased (the rows stay, emptied, for counts and rates: they are no longer messages)."""
    return Nudge.objects.filter(
        learner_id=learner_id,
        learner__erased_at__isnull=True,
        channel=Channel.IN_APP,
        status=NudgeStatus.SENT,
        delivered_at__isnull=False,
    ).order_by("-sent_at", "-id")


def inbox_get(*, learner_id: uuid.UUID, nudge_id: Any) -> Nudge:
    return row_by_id(
        inbox_list(learner_id=learner_id), nudge_id, missing="No such message in this inbox."
    )
