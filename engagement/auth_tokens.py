"""JWT lifecycle beyond simplejwt: single-use refresh rotation, and a logout that revokes both tokens.

Refresh tokens go to simplejwt's blacklist (database). An access token cannot be blacklisted
there, so its ``jti`` is kept in the shared cache until the token would have expired anyway.
"""

from datetime import UTC, datetime
from typing import Any, cast

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


def access_token_is_revoked(*, jti: str) -> bool:
    return bool(jti) and cache.get(_revoked_key(jti)) is not None


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
