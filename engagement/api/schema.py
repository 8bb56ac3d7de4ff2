"""OpenAPI descriptions of our authentication classes (imported once, at app start-up)."""

from typing import Any

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from drf_spectacular.extensions import OpenApiAuthenticationExtension


class RevocableJWTScheme(SimpleJWTScheme):
    target_class = "engagement.api.authentication.RevocableJWTAuthentication"
    name = "jwtAuth"


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "engagement.api.authentication.ApiKeyAuthentication"
    name = "apiKeyAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "Machine credentials: `Api-Key <key>`.",
        }


class ApiKeyBasicScheme(OpenApiAuthenticationExtension):
    target_class = "engagement.api.authentication.ApiKeyBasicAuthentication"
    name = "apiKeyBasicAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "basic",
            "description": "HTTP Basic with an API key as the password.",
        }
