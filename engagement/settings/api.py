"""The REST API: authentication, throttling, parsing and rendering, JWT lifetimes and the schema."""

from datetime import timedelta

from engagement.registry import registry
from engagement.settings.base import env
from engagement.settings.cache import CACHES
from engagement.settings.security import SECRET_KEY

REST_FRAMEWORK = {
    # JWT first, so that unauthenticated calls get 401 with a WWW-Authenticate challenge.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "engagement.api.authentication.RevocableJWTAuthentication",
        "engagement.api.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Each app registers its throttle scopes and rates (engagement/registry.py).
    "DEFAULT_THROTTLE_CLASSES": [
        "engagement.api.throttling.PrincipalRateThrottle",
        "engagement.api.throttling.AnonymousRateThrottle",
        "engagement.api.throttling.ScopedClientRateThrottle",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["engagement.api.permissions.RoleAccess"],
    # JSON bodies nest at most MAX_JSON_DEPTH levels; rows with any text render (see the modules).
    "DEFAULT_PARSER_CLASSES": [
        "engagement.api.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_RENDERER_CLASSES": [
        "engagement.api.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "engagement.api.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "engagement.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "engagement.api.exceptions.exception_handler",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=5, minimum=1)),
    "REFRESH_TOKEN_LIFETIME": timedelta(hours=env.int("JWT_REFRESH_HOURS", default=24, minimum=1)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "SIGNING_KEY": env.str("JWT_SIGNING_KEY", default="") or SECRET_KEY,
    "ALGORITHM": "HS256",
}
# How long the user an access token names stays cached (engagement/auth_tokens.py); 0 turns it
# off. Off by default on a per-process cache, which one process's save cannot clear for another.
JWT_USER_CACHE_SECONDS = env.int(
    "JWT_USER_CACHE_SECONDS",
    default=0 if CACHES["default"]["BACKEND"].endswith("LocMemCache") else 30,
    minimum=0,
)

SPECTACULAR_SETTINGS = {
    "TITLE": "Learner Engagement Platform API",
    "DESCRIPTION": "Find learners who are drifting away, see why, and win them back.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Several models have a "status" field; each app names its choice sets so the components stay
    # stable (registered from its AppConfig.ready(), see engagement/registry.py).
    "ENUM_NAME_OVERRIDES": registry.schema_enum_names,
}
