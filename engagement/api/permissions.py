"""Who may call what: every view declares an :class:`Access` rule, checked by :class:`RoleAccess`.

This module is the one place where roles meet endpoints; queryset scoping (a coach sees only the
cohorts assigned to them) lives beside it in :mod:`engagement.scoping`. A view without a rule is
refused to everyone, and the authorization matrix test fails for it.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rest_framework.exceptions import NotAuthenticated
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from engagement.models import User
from engagement.principals import ApiKeyUser
from engagement.roles import NOBODY


@dataclass(frozen=True)
class Access:
    """Roles allowed to read (safe methods) and write, per-action overrides, and API key scopes."""

    read: frozenset[str] = NOBODY
    write: frozenset[str] = NOBODY
    actions: Mapping[str, frozenset[str]] = field(default_factory=dict)
    read_scope: str | None = None
    write_scope: str | None = None

    def key_scope(self, *, safe: bool, action: str | None) -> str | None:
        """The scope a key needs here, or ``None`` when keys may not call this at all.

        Keys get the read or write scope's routes; per-action overrides are for people only.
        """
        if action is not None and action in self.actions:
            return None
        return self.read_scope if safe else self.write_scope

    def allows_role(self, *, role: str, safe: bool, action: str | None) -> bool:
        if action is not None and action in self.actions:
            return role in self.actions[action]
        return role in (self.read if safe else self.write)


class RoleAccess(BasePermission):
    """Checks the caller's role or API key scopes against the view's ``access`` rule.

    A refused key is told the scope it lacks, or that the route is not for keys.
    """

    message = "Your role does not allow this."

    def has_permission(self, request: Request, view: Any) -> bool:
        access: Access | None = getattr(view, "access", None)
        principal = request.user
        if access is None or not (principal and principal.is_authenticated and principal.is_active):
            return False
        if getattr(view, (request.method or "").lower(), None) is None:
            return True  # a method the route lacks: DRF answers 405, whoever asks
        safe = request.method in SAFE_METHODS
        if isinstance(principal, ApiKeyUser):
            scope = access.key_scope(safe=safe, action=getattr(view, "action", None))
            if scope is None:
                self.message = "API keys cannot call this endpoint; it is for staff users."
                return False
            if scope not in principal.api_key.scopes:
                self.message = f"This API key lacks the '{scope}' scope."
                return False
            return True
        role = getattr(principal, "effective_role", None)
        return role is not None and access.allows_role(
            role=role, safe=safe, action=getattr(view, "action", None)
        )


def staff_user(request: Request) -> User:
    """The staff user behind a request that :class:`RoleAccess` let through for a staff role."""
    if not isinstance(request.user, User):
        raise NotAuthenticated()
    return request.user
