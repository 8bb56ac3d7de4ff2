"""Brute-force protection for every password login (admin, session, JWT, HTTP Basic).

Failed attempts per username are counted in the shared cache; after ``LOGIN_FAILURE_LIMIT`` of
them within ``LOGIN_LOCKOUT_SECONDS`` the username is locked for that long, even for the right
password. Counting keys on a keyed hash of the username keeps names out of the cache's key space.
"""

import hashlib
import hmac
from typing import Any

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest


def _key(username: str) -> str:
    digest = hmac.new(
        settings.SECRET_KEY.encode(), username.strip().lower().encode(), hashlib.sha256
    )
    return f"login-failures:{digest.hexdigest()[:32]}"


def login_failure_register(*, username: str) -> int:
    """Count one failed attempt; returns the attempts within the current window.

    0 while the cache is unreachable (django-redis answers ``None`` then): the lockout fails open
    with the rest of the cache rather than failing the login request.
    """
    key = _key(username)
    cache.add(key, 0, timeout=settings.LOGIN_LOCKOUT_SECONDS)
    try:
        counted = cache.incr(key)
    except ValueError:
        cache.set(key, 1, timeout=settings.LOGIN_LOCKOUT_SECONDS)
        return 1
    return 0 if counted is None else int(counted)


def login_is_locked(*, username: str) -> bool:
    return int(cache.get(_key(username)) or 0) >= settings.LOGIN_FAILURE_LIMIT


def login_failures_clear(*, username: str) -> None:
    cache.delete(_key(username))


class LockoutModelBackend(ModelBackend):
    """Django's password backend, refusing locked usernames before checking the password."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        if username and login_is_locked(username=username):
            raise PermissionDenied("Too many failed logins; try again later.")
        return super().authenticate(request, username=username, password=password, **kwargs)
