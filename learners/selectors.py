"""Reads of cohorts, learners and activity, always scoped to the caller (``actor``).

Objects outside the caller's scope are reported as not found, never as forbidden.
"""

import uuid
from collections.abc import Callable, Mapping
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import QuerySet

from engagement.errors import NotFound, ValidationFailed
from engagement.ids import row_by_id
from engagement.roles import sees_personal_data
from learners.cache import learner_detail_key
from learners.filters import PERSONAL_FILTERS, LearnerFilter
from learners.models import ActivityEvent, Cohort, Learner, RiskModel
from learners.scoping import cohort_is_visible, scope_to_cohorts, sees_every_cohort


def cohort_list(*, actor: Any) -> QuerySet[Cohort]:
    return scope_to_cohorts(
        Cohort.objects.order_by("-starts_on", "name"), actor=actor, cohort_field="pk"
    )


def cohort_get(*, actor: Any, cohort_id: uuid.UUID | str) -> Cohort:
    return row_by_id(cohort_list(actor=actor), cohort_id, missing="No cohort with this id.")


def cohort_refs_in_scope(*, actor: Any) -> frozenset[str] | None:
    """Ids and names of the caller's cohorts, which output about cohorts may mention; ``None``
    when the caller sees every cohort."""
    if sees_every_cohort(actor):
        return None
    return frozenset(
        str(ref) for pair in cohort_list(actor=actor).values_list("id", "name") for ref in pair
    )


def learner_queryset(*, actor: Any) -> QuerySet[Learner]:
    """Every learner the caller may see, cohort joined in."""
    queryset = Learner.objects.select_related("cohort").order_by("external_id", "id")
    return scope_to_cohorts(queryset, actor=actor, cohort_field="cohort_id")


def learner_list(*, actor: Any, filters: Mapping[str, Any] | None = None) -> QuerySet[Learner]:
    """The caller's learners matching the list filters (see :class:`LearnerFilter`).

    Analysts may not filter on personal data: that would re-identify pseudonymised rows.
    """
    filters = filters or {}
    if not sees_personal_data(actor):
        refused = sorted(name for name in PERSONAL_FILTERS if name in filters)
        if refused:
            raise ValidationFailed(
                detail={name: ["Not available on pseudonymised data."] for name in refused}
            )
    filterset = LearnerFilter(data=filters, queryset=learner_queryset(actor=actor))
    if not filterset.is_valid():
        raise ValidationFailed(detail=filterset.errors)
    return filterset.qs


def learner_get(*, actor: Any, learner_id: uuid.UUID | str) -> Learner:
    return row_by_id(learner_queryset(actor=actor), learner_id, missing="No learner with this id.")


def learner_detail_cached(
    *, actor: Any, learner_id: uuid.UUID | str, render: Callable[[Learner], dict[str, Any]]
) -> dict[str, Any]:
    """A learner's rendered detail, cached until the learner changes (services clear the key).

    The cache is shared by all callers, so scope is checked on every read, cached or not.
    """
    try:
        canonical = uuid.UUID(str(learner_id))
    except ValueError as exc:
        raise NotFound("No learner with this id.") from exc
    key = learner_detail_key(canonical)
    detail = cache.get(key)
    if detail is None:
        detail = render(learner_get(actor=actor, learner_id=canonical))
        cache.set(key, detail, timeout=settings.LEARNER_DETAIL_CACHE_SECONDS)
    elif not cohort_is_visible(actor=actor, cohort_id=detail["cohort"]):
        raise NotFound("No learner with this id.")
    return detail


def learner_events(*, learner: Learner) -> QuerySet[ActivityEvent]:
    return ActivityEvent.objects.filter(learner=learner).order_by("-occurred_at", "-id")


def risk_model_list() -> QuerySet[RiskModel]:
    return RiskModel.objects.order_by("-version")


def risk_model_active() -> RiskModel:
    """The one active risk model version."""
    try:
        return RiskModel.objects.get(is_active=True)
    except RiskModel.DoesNotExist as error:
        raise NotFound("No risk model is active; activate one first.") from error
