"""JWT lifecycle beyond simplejwt: single-use refresh rotation, and a logout that revokes both tokens.

Refresh tokens go to simplejwt's blacklist (database). An access token cannot be blacklisted
there, so its ``jti`` is kept in the shared cache until the token would have expired anyway.

The user an access token names is kept in the cache too, for ``JWT_USER_CACHE_SECONDS``, so that
a request reads its revocation and its user in one cache round trip instead of a cache read and
a query. Every save or deletion of a user drops the entry, and again when it commits
(:mod:`engagement.receivers`), so a deactivation or a new role applies to the next request; only
a write that bypasses signals (``QuerySet.update``, ``bulk_update``), or a request that read the
old row before the commit and caches it after, waits for the entry to expire.
"""

from datetime import UTC, datetime
from typing import Any, cast

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.core.cache import cache
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.serializers import TokenRefreshSerializer
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken
from rest_framework_simplejwt.tokens import RefreshToken, Token

from engagement.audit import audit_record
from engagement.errors import ValidationFailed
from engagement.models import User


def _revoked_key(jti: str) -> str:
    return f"jwt-revoked:{jti}"


def _user_key(user_id: str) -> str:
    return f"jwt-user:{user_id}"


def access_token_state(*, jti: str, user_id: str) -> tuple[bool, User | None]:
    """Whether the access token ``jti`` is revoked, and its user if the cache holds it: one round
    trip. The user is ``None`` when not cached (or caching is off): read it, then
    :func:`token_user_remember` it."""
    keys = [_revoked_key(jti)] if jti else []
    if settings.JWT_USER_CACHE_SECONDS:
        keys.append(_user_key(user_id))
    found = cache.get_many(keys) if keys else {}
    user = found.get(_user_key(user_id))
    return bool(jti) and _revoked_key(jti) in found, user if isinstance(user, User) else None


def token_user_remember(user: User) -> None:
    """Keep an active user that a token named for the next requests (when caching is on)."""
    if settings.JWT_USER_CACHE_SECONDS and user.is_active:
        cache.set(_user_key(str(user.pk)), user, timeout=settings.JWT_USER_CACHE_SECONDS)


def token_user_forget(user_id: Any) -> None:
    """Drop a cached user: the next request reads it again (a save or deletion changed it)."""
    cache.delete(_user_key(str(user_id)))


def _revoke_access(token: Token) -> None:
    remaining = int(token["exp"]) - int(datetime.now(tz=UTC).timestamp())
    if remaining > 0:
        cache.set(_revoked_key(str(token["jti"])), 1, timeout=remaining)


class SingleUseRefreshToken(RefreshToken):
    """A refresh token whose blacklisting is the claim on its one rotation.

    simplejwt checks the blacklist when the token is read and blacklists it later, so requests
    racing with one token all pass the check. The blacklist row is unique per token: only the
    request whose insert creates it may rotate; the others find it there and are refused.
    """

    def blacklist(self) -> BlacklistedToken:
        # simplejwt annotates one object but returns get_or_create's (object, created) pair.
        blacklisted, created = cast(tuple[BlacklistedToken, bool], super().blacklist())
        if not created:
            raise TokenError("Token is blacklisted")
        return blacklisted


class SingleUseTokenRefreshSerializer(TokenRefreshSerializer):
    token_class = SingleUseRefreshToken


def user_token_login(*, request: Any, user: User) -> None:
    """A password exchanged for tokens is a login: same signal (audit, last_login) as a session."""
    user_logged_in.send(sender=user.__class__, request=request, user=user)


def user_logout(*, user: User, refresh: str, access: Token | None) -> None:
    """Blacklist the refresh token (it must be the caller's) and revoke the access token used."""
    try:
        refresh_token = RefreshToken(refresh)  # type: ignore[arg-type]
    except TokenError as exc:
        raise ValidationFailed(detail={"refresh": [str(exc)]}) from exc
    if str(refresh_token.get("user_id")) != str(user.pk):
        raise ValidationFailed(detail={"refresh": ["This refresh token belongs to another user."]})
    refresh_token.blacklist()
    if access is not None:
        _revoke_access(access)
    audit_record(actor=user, action="auth.logout", target=user)
