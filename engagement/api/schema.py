"""How the OpenAPI document is built: our schema class, and the descriptions of our
authentication classes (imported once, at app start-up)."""

from typing import Any

from drf_spectacular import openapi
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from drf_spectacular.extensions import OpenApiAuthenticationExtension


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's schema, where the fields an output serializer declares personal
    (``Meta.personal_fields``) are optional: pseudonymised callers get the answer without them."""

    def _map_basic_serializer(self, serializer: Any, direction: str) -> dict[str, Any]:
        schema: dict[str, Any] = super()._map_basic_serializer(serializer, direction)
        personal = set(getattr(getattr(serializer, "Meta", None), "personal_fields", ()))
        if direction == "response" and personal and "required" in schema:
            schema["required"] = [name for name in schema["required"] if name not in personal]
            if not schema["required"]:
                del schema["required"]
        return schema


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
