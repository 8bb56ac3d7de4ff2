"""DRF authentication: revocable JWTs for people, API keys (header or HTTP Basic) for machines."""

import base64
import binascii
from typing import Any

from rest_framework import authentication, exceptions
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import Token

from engagement.api_keys import KEY_PREFIX, api_key_authenticate
from engagement.auth_tokens import access_token_state, token_user_remember
from engagement.models import ApiKey, User
from engagement.principals import ApiKeyUser


def _authenticated(raw_key: str) -> tuple[ApiKeyUser, ApiKey]:
    api_key = api_key_authenticate(raw_key=raw_key)
    if api_key is None:
        raise exceptions.AuthenticationFailed("Invalid, expired or revoked API key.")
    return ApiKeyUser(api_key), api_key


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Api-Key"

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        header = authentication.get_authorization_header(request).decode(errors="replace")
        keyword, _, raw_key = header.partition(" ")
        if keyword != self.keyword:
            return None
        if not raw_key.strip():
            raise exceptions.AuthenticationFailed("The Api-Key header carries no key.")
        return _authenticated(raw_key)

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


class ApiKeyBasicAuthentication(authentication.BaseAuthentication):
    """HTTP Basic whose password is an API key (how stock xAPI clients send credentials)."""

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        header = authentication.get_authorization_header(request).split()
        if len(header) != 2 or header[0].lower() != b"basic":
            return None
        try:
            _, _, password = base64.b64decode(header[1]).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        if not password.startswith(f"{KEY_PREFIX}_"):
            return None
        return _authenticated(password)

    def authenticate_header(self, request: Request) -> str:
        return 'Basic realm="api"'


class RevocableJWTAuthentication(JWTAuthentication):
    """simplejwt's authentication, also refusing access tokens revoked by a logout.

    The revocation and the token's user are read from the cache in one round trip; a user not
    cached is read from the database as simplejwt does, then cached (see
    :mod:`engagement.auth_tokens` for how long and why a change is still seen at once).
    DRF makes one instance per request, so the user read with the revocation is this request's.
    """

    _cached_user: User | None = None

    def get_validated_token(self, raw_token: bytes) -> Token:
        token = super().get_validated_token(raw_token)
        revoked, self._cached_user = access_token_state(
            jti=str(token.get("jti", "")), user_id=str(token.get(api_settings.USER_ID_CLAIM, ""))
        )
        if revoked:
            raise exceptions.AuthenticationFailed(
                "This token has been revoked.", code="token_revoked"
            )
        return token

    def get_user(self, validated_token: Token) -> Any:
        cached = self._cached_user
        if cached is not None and str(cached.pk) == str(
            validated_token.get(api_settings.USER_ID_CLAIM)
        ):
            return cached
        user = super().get_user(validated_token)
        if isinstance(user, User):
            token_user_remember(user)
        return user
