"""Every API permission lives here, so that roles and scopes change in one place."""

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request


class IsStaffUser(BasePermission):
    """Any authenticated, active user. Role and cohort scoping arrive with the security work."""

    message = "Authentication credentials were not provided or are not valid."

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.is_active)


DEFAULT_PERMISSIONS = [IsStaffUser]
