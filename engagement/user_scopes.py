"""The port through which an app tells the platform which cohorts a staff user works with.

The users API (``cohort_ids``) and the user admin (``cohorts``) belong to the platform, but
cohorts and their assignment belong to an app (``learners``) that ``engagement`` may not import.
That app registers a :class:`UserScopeProvider` from its ``AppConfig.ready()`` with
``registry.set_user_scope_provider``; the platform
reaches assignments only through the functions below. With no provider registered, nobody can
be given cohorts: assigning any is refused with :data:`NO_PROVIDER`, and everyone has none.
"""

from collections.abc import Collection
from typing import Any, Protocol

from engagement.errors import ValidationFailed
from engagement.models import User
from engagement.registry import registry

NO_PROVIDER = "No installed app assigns cohorts, so no cohorts can be given."


class UserScopeProvider(Protocol):
    """What an app that owns cohorts offers the platform's user management."""

    def assign(self, *, user: User, cohort_ids: Collection[Any]) -> None:
        """Make ``cohort_ids`` exactly the user's cohorts; unknown ids raise ``ValidationFailed``
        keyed ``cohort_ids``. The caller (``engagement.accounts``) audits the change."""

    def assigned_ids(self, *, user: User) -> list[Any]:
        """Ids of the cohorts the user works with."""

    def choices(self) -> list[tuple[str, str]]:
        """``(id, label)`` of every cohort that may be assigned, in display order."""


def user_cohorts_set(*, user: User, cohort_ids: Collection[Any]) -> None:
    """Make ``cohort_ids`` exactly the cohorts ``user`` works with, through the provider."""
    provider = registry.user_scope_provider()
    if provider is not None:
        provider.assign(user=user, cohort_ids=cohort_ids)
    elif cohort_ids:
        raise ValidationFailed(detail={"cohort_ids": [NO_PROVIDER]})


def user_cohort_ids(*, user: User) -> list[Any]:
    """Ids of the cohorts ``user`` works with (none without a provider)."""
    provider = registry.user_scope_provider()
    return [] if provider is None else provider.assigned_ids(user=user)


def user_cohort_choices() -> list[tuple[str, str]]:
    """``(id, label)`` of the cohorts that may be assigned, for the user admin's form."""
    provider = registry.user_scope_provider()
    return [] if provider is None else provider.choices()


def user_cohort_labels(*, user: User) -> list[str]:
    """Names of the cohorts ``user`` works with, in display order (for their account page)."""
    assigned = {str(cohort_id) for cohort_id in user_cohort_ids(user=user)}
    return [label for value, label in user_cohort_choices() if str(value) in assigned]
