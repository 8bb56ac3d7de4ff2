"""Who is behind a request: a staff user, an API key acting as an integration, or nobody.

Authentication (the API layer) builds these; domain services, the audit log and the admin read
them without depending on how the caller signed in.
"""

from django.http import HttpRequest
from rest_framework.request import Request

from engagement.models import ApiKey, User
from engagement.roles import INTEGRATION_ROLE


class ApiKeyUser:
    """What ``request.user`` is for a call made with an API key: an integration, not a person."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    effective_role = INTEGRATION_ROLE

    def __init__(self, api_key: ApiKey) -> None:
        self.api_key = api_key
        self.pk = f"api-key:{api_key.pk}"

    def get_username(self) -> str:
        return f"api-key:{self.api_key.prefix}"

    def __str__(self) -> str:
        return self.get_username()


def acting_user(request: Request | HttpRequest) -> User | None:
    """The staff user behind a request (API or admin), or ``None`` for keys and anonymous callers."""
    return request.user if isinstance(request.user, User) else None


def audit_actor(request: Request | HttpRequest) -> User | ApiKey | None:
    """Who to name in the audit log for this request (API or admin): the user, or the API key."""
    if isinstance(request.user, ApiKeyUser):
        return request.user.api_key
    return acting_user(request)
