"""Roles, as domain code needs them: who may act, and who sees every cohort.

Staff users carry a :class:`~engagement.models.Role`; an API key acts as an integration. Doors
(API views, admin, pages) and domain services both read roles from here, never from the API layer.
"""

from typing import Any

from engagement.models import Role

ADMIN = frozenset({Role.ADMIN.value})
ADMIN_COACH = frozenset({Role.ADMIN.value, Role.COACH.value})
STAFF = frozenset({Role.ADMIN.value, Role.COACH.value, Role.ANALYST.value})
NOBODY: frozenset[str] = frozenset()

INTEGRATION_ROLE = "integration"
"""The role of a caller authenticated by an API key (see :class:`engagement.principals.ApiKeyUser`)."""

UNSCOPED_ROLES = frozenset({Role.ADMIN.value, Role.ANALYST.value, INTEGRATION_ROLE})
"""Roles that see every cohort; a coach sees only the cohorts assigned to them."""


def role_of(principal: Any) -> str | None:
    """The caller's role (``integration`` for API keys), or ``None`` for anonymous callers."""
    return (
        getattr(principal, "effective_role", None)
        if principal and principal.is_authenticated
        else None
    )
