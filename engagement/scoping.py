"""Queryset scoping by caller: the one place that decides which rows a caller may see at all.

Admins, analysts and integrations see every cohort (analysts through pseudonymised serializers);
a coach sees only the cohorts assigned to them; anyone else sees nothing. Objects outside the
scope are simply absent, so detail routes answer 404 rather than 403.
"""

from typing import Any, TypeVar

from django.db.models import Model, QuerySet

from engagement.accounts import user_cohort_ids
from engagement.models import Role
from engagement.roles import UNSCOPED_ROLES, role_of

M = TypeVar("M", bound=Model)


def scope_to_cohorts(queryset: QuerySet[M], *, actor: Any, cohort_field: str) -> QuerySet[M]:
    """Limit ``queryset`` to the caller's cohorts; ``cohort_field`` leads from the model to a cohort id."""
    role = role_of(actor)
    if role in UNSCOPED_ROLES:
        return queryset
    if role == Role.COACH:
        return queryset.filter(**{f"{cohort_field}__in": user_cohort_ids(user=actor)})
    return queryset.none()


def cohort_is_visible(*, actor: Any, cohort_id: Any) -> bool:
    """Whether one cohort is within the caller's scope (one query for coaches, none otherwise)."""
    role = role_of(actor)
    if role in UNSCOPED_ROLES:
        return True
    return (
        role == Role.COACH
        and user_cohort_ids(user=actor).filter(content_object_id=cohort_id).exists()
    )


def sees_personal_data(actor: Any) -> bool:
    """Analysts work on pseudonymised rows; everyone else in scope sees names and emails."""
    return role_of(actor) != Role.ANALYST


def sees_every_cohort(actor: Any) -> bool:
    """Admins, analysts and integrations see every cohort; a coach only those assigned to them."""
    return role_of(actor) in UNSCOPED_ROLES
