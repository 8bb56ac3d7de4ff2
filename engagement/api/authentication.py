"""DRF authentication: revocable JWTs for people, API keys (header or HTTP Basic) for machines."""

import base64
import binascii
from typing import Any

from rest_framework import authentication, exceptions
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.tokens import Token

from engagement.api_keys import KEY_PREFIX, api_key_authenticate
from engagement.auth_tokens import access_token_is_revoked
from engagement.models import ApiKey
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
    """simplejwt's authentication, also refusing access tokens revoked by a logout."""

    def get_validated_token(self, raw_token: bytes) -> Token:
        token = super().get_validated_token(raw_token)
        if access_token_is_revoked(jti=str(token.get("jti", ""))):
            raise exceptions.AuthenticationFailed(
                "This token has been revoked.", code="token_revoked"
            )
        return token
