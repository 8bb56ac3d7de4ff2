"""Reads of cohorts, learners and activity: querysets for lists, single objects for details."""

import uuid
from collections.abc import Callable, Mapping
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from engagement.errors import NotFound, ValidationFailed
from learners.cache import learner_detail_key
from learners.filters import LearnerFilter
from learners.models import ActivityEvent, Cohort, Learner


def cohort_list() -> QuerySet[Cohort]:
    return Cohort.objects.order_by("-starts_on", "name")


def cohort_get(*, cohort_id: uuid.UUID | str) -> Cohort:
    try:
        return Cohort.objects.get(id=cohort_id)
    except (Cohort.DoesNotExist, ValueError, ValidationError) as exc:
        raise NotFound("No cohort with this id.") from exc


def learner_list(*, filters: Mapping[str, Any] | None = None) -> QuerySet[Learner]:
    """Learners matching the list filters (see :class:`LearnerFilter`), cohort joined in."""
    queryset = Learner.objects.select_related("cohort").order_by("name", "id")
    filterset = LearnerFilter(data=filters or {}, queryset=queryset)
    if not filterset.is_valid():
        raise ValidationFailed(detail=filterset.errors)
    return filterset.qs


def learner_get(*, learner_id: uuid.UUID | str) -> Learner:
    try:
        return Learner.objects.select_related("cohort").get(id=learner_id)
    except (Learner.DoesNotExist, ValueError, ValidationError) as exc:
        raise NotFound("No learner with this id.") from exc


def learner_detail_cached(
    *, learner_id: uuid.UUID | str, render: Callable[[Learner], dict[str, Any]]
) -> dict[str, Any]:
    """A learner's rendered detail, cached until the learner changes (services clear the key)."""
    try:
        key = learner_detail_key(uuid.UUID(str(learner_id)))
    except ValueError as exc:
        raise NotFound("No learner with this id.") from exc
    detail = cache.get(key)
    if detail is None:
        detail = render(learner_get(learner_id=learner_id))
        cache.set(key, detail, timeout=settings.LEARNER_DETAIL_CACHE_SECONDS)
    return detail


def learner_events(*, learner: Learner) -> QuerySet[ActivityEvent]:
    return ActivityEvent.objects.filter(learner=learner).order_by("-occurred_at", "-id")
