"""Which coach works with which cohort: the assignments coach scoping reads, and their one writer.

Assignments are plain rows (:class:`~learners.models.CohortAssignment`, see
docs/adr/0002-cohort-assignment.md). The platform's users API and user admin reach them only
through the :class:`CohortAssignmentProvider` that :class:`~learners.apps.LearnersConfig`
registers with :mod:`engagement.user_scopes`.
"""

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import QuerySet

from engagement.accounts import demo_accounts_ensure
from engagement.errors import ValidationFailed
from engagement.models import User
from learners.cache import learners_data_changed
from learners.models import Cohort, CohortAssignment
from learners.nudge_demo import recent_cohort_ids

UNKNOWN_COHORTS = "One or more cohorts do not exist."


def assigned_cohort_ids(*, user: Any) -> QuerySet:
    """Ids of the cohorts assigned to ``user``, as a ``cohort_id`` values queryset that a filter
    uses as a subquery (``cohort_id__in=...``): scoping stays one query."""
    return CohortAssignment.objects.filter(user=user).values("cohort_id")


@transaction.atomic
def cohort_assignments_set(*, user: User, cohort_ids: Iterable[Any]) -> None:
    """Make ``cohort_ids`` exactly the cohorts ``user`` works with (audited by the account
    service that calls this, as ``user.create`` or ``user.update``).

    Unknown ids refuse the whole change (400), so a typo never half-applies.
    """
    wanted = {str(cohort_id) for cohort_id in cohort_ids}
    found = set(Cohort.objects.filter(pk__in=wanted).values_list("pk", flat=True))
    if len(found) != len(wanted):
        raise ValidationFailed(detail={"cohort_ids": [UNKNOWN_COHORTS]})
    CohortAssignment.objects.filter(user=user).exclude(cohort_id__in=found).delete()
    current = set(assigned_cohort_ids(user=user).values_list("cohort_id", flat=True))
    CohortAssignment.objects.bulk_create(
        (CohortAssignment(user=user, cohort_id=cohort_id) for cohort_id in found - current),
        ignore_conflicts=True,  # a concurrent change for the same user added it meanwhile
    )
    learners_data_changed()


def demo_accounts_ensure_with_cohorts(*, coach_cohorts: int = 2) -> list[tuple[str, str, str]]:
    """The platform's demo accounts, the coach working with the ``coach_cohorts`` most recent
    cohorts (``manage.py demo_accounts``)."""
    recent = recent_cohort_ids(coach_cohorts)
    return demo_accounts_ensure(coach_cohort_ids=list(recent))


class CohortAssignmentProvider:
    """Learners' side of :class:`engagement.user_scopes.UserScopeProvider`."""

    def assign(self, *, user: User, cohort_ids: Iterable[Any]) -> None:
        cohort_assignments_set(user=user, cohort_ids=cohort_ids)

    def assigned_ids(self, *, user: User) -> list[Any]:
        return list(assigned_cohort_ids(user=user).values_list("cohort_id", flat=True))

    def choices(self) -> list[tuple[str, str]]:
        return [
            (str(pk), name)
            for pk, name in Cohort.objects.order_by("name").values_list("pk", "name")
        ]
