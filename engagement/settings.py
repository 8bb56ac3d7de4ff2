"""Settings, all read from the environment (an optional ``.env`` file is loaded first).

With nothing set, the platform runs embedded: SQLite (WAL), local-memory cache and eager Celery
tasks. Setting ``DATABASE_URL``, ``REDIS_URL``/``CACHE_URL`` and ``CELERY_BROKER_URL`` switches
to PostgreSQL, Redis and a real broker. The README's configuration table lists every variable.
"""

import warnings
from datetime import timedelta
from pathlib import Path
from typing import Any

import environ
from django.core.exceptions import ImproperlyConfigured

from engagement.environment import Environment

BASE_DIR = Path(__file__).resolve().parent.parent

env = Environment()
if (BASE_DIR / ".env").is_file():
    env.read_env(str(BASE_DIR / ".env"))

DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
ALLOWED_HOSTS: list[str] = env.list("ALLOWED_HOSTS", default=[])
# Personal data keys (see engagement/crypto.py): Fernet keys newest first, and the lookup-hash key.
FIELD_ENCRYPTION_KEYS: list[str] = env.fernet_keys("FIELD_ENCRYPTION_KEYS")
FIELD_HASH_KEY = env.str("FIELD_HASH_KEY", default="")
if DEBUG:
    SECRET_KEY = SECRET_KEY or "django-insecure-development-only-key"
    ALLOWED_HOSTS = ALLOWED_HOSTS or ["localhost", "127.0.0.1", "[::1]", "testserver"]
    # Development only: a fixed, public key pair so local data survives restarts.
    FIELD_ENCRYPTION_KEYS = FIELD_ENCRYPTION_KEYS or [
        "ZGV2ZWxvcG1lbnQtb25seS1rZXktMDAwMDAwMDAwMDA="
    ]
    FIELD_HASH_KEY = FIELD_HASH_KEY or "development-only-hash-key"
else:
    required = {
        "SECRET_KEY": SECRET_KEY,
        "ALLOWED_HOSTS": ALLOWED_HOSTS,
        "FIELD_ENCRYPTION_KEYS": FIELD_ENCRYPTION_KEYS,
        "FIELD_HASH_KEY": FIELD_HASH_KEY,
    }
    missing = [name for name, value in required.items() if not value]
    if missing:
        raise ImproperlyConfigured(
            f"{', '.join(missing)} must be set when DEBUG is off "
            "(set DEBUG=true for local development; see README, Configuration)."
        )

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt",
    "rest_framework_simplejwt.token_blacklist",
    "django_celery_beat",
    "django_filters",
    "corsheaders",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "engagement",
    "learners",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "engagement.request_context.RequestContextMiddleware",
    "engagement.error_views.ApiJsonErrorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "engagement.urls"
WSGI_APPLICATION = "engagement.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


DATABASE_ENGINES = ("django.db.backends.sqlite3", "django.db.backends.postgresql")


def _database_url_config(url: str) -> dict[str, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # an unknown scheme is reported below, in one line
        database: dict[str, Any] = environ.Env.db_url_config(url)
    if database.get("ENGINE") not in DATABASE_ENGINES:
        raise ValueError(url)
    return database


def _database() -> dict[str, Any]:
    """SQLite in WAL mode by default; PostgreSQL through Django's psycopg 3 pool when configured."""
    database = env.url_config(
        "DATABASE_URL",
        parse=_database_url_config,
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        example="postgres://user:password@host:5432/name or sqlite:////path/db.sqlite3",
    )
    if database["ENGINE"] == "django.db.backends.sqlite3":
        database["OPTIONS"] = {
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;"
            ),
            "transaction_mode": "IMMEDIATE",
        }
    elif database["ENGINE"] == "django.db.backends.postgresql" and env.bool(
        "DATABASE_POOL", default=True
    ):
        database["CONN_MAX_AGE"] = 0
        database["OPTIONS"] = {
            "pool": {
                "min_size": env.int("DATABASE_POOL_MIN_SIZE", default=2),
                "max_size": env.int("DATABASE_POOL_MAX_SIZE", default=10, minimum=1),
                "timeout": env.int("DATABASE_POOL_TIMEOUT", default=10, minimum=1),
            }
        }
    return database


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
CACHES = {
    "default": env.url_config(
        "CACHE_URL" if env.str("CACHE_URL", default="") else "REDIS_URL",
        parse=env.cache_url_config,
        default="locmemcache://engagement",
        example="redis://127.0.0.1:6379/0",
    )
}

AUTH_USER_MODEL = "engagement.User"
AUTHENTICATION_BACKENDS = [
    "engagement.login_guard.LockoutModelBackend",
]
LOGIN_REDIRECT_URL = "/"
LOGIN_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5, minimum=1)
LOGIN_LOCKOUT_SECONDS = env.int("LOGIN_LOCKOUT_SECONDS", default=15 * 60, minimum=1)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"] if (BASE_DIR / "static").is_dir() else []
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_MANIFEST_STRICT = False

# Celery: eager (in-process) unless a broker is configured.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="memory://")
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or None
CELERY_TASK_ALWAYS_EAGER = env.bool(
    "CELERY_TASK_ALWAYS_EAGER", default=CELERY_BROKER_URL == "memory://"
)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
# Periodic tasks are declared in engagement/schedules.py and kept in the database by beat.
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"

REST_FRAMEWORK = {
    # JWT first, so that unauthenticated calls get 401 with a WWW-Authenticate challenge.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "engagement.api.authentication.RevocableJWTAuthentication",
        "engagement.api.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_THROTTLE_CLASSES": [
        "engagement.api.throttling.PrincipalRateThrottle",
        "engagement.api.throttling.AnonymousRateThrottle",
        "engagement.api.throttling.ScopedClientRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "principal": env.rate("THROTTLE_PRINCIPAL", default="1200/min"),
        "anonymous": env.rate("THROTTLE_ANONYMOUS", default="60/min"),
        "login": env.rate("THROTTLE_LOGIN", default="20/min"),
        "ingest": env.rate("THROTTLE_INGEST", default="600/min"),
        "generation": env.rate("THROTTLE_GENERATION", default="30/min"),
    },
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

SPECTACULAR_SETTINGS = {
    "TITLE": "Learner Engagement Platform API",
    "DESCRIPTION": "Find learners who are drifting away, see why, and win them back.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Several models have a "status" field; name each choice set so the components stay stable.
    "ENUM_NAME_OVERRIDES": {
        "JobStatusEnum": "engagement.models.JobStatus",
        "LearnerStatusEnum": "learners.models.LearnerStatus",
        "EventKindEnum": "learners.models.EventKind",
        "RiskBandEnum": "learners.models.RiskBand",
        "RiskFeedbackKindEnum": "learners.models.RiskFeedbackKind",
    },
}

# HTTP hardening: strict by default whenever DEBUG is off; TLS is expected to end at a proxy.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Reverse proxies in front of the app; only these may name the client in X-Forwarded-For.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
CSRF_TRUSTED_ORIGINS: list[str] = env.list("CSRF_TRUSTED_ORIGINS", default=[])
CORS_ALLOWED_ORIGINS: list[str] = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_URLS_REGEX = r"^/api/.*$"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

SITE_URL = env.http_url("SITE_URL", default="http://127.0.0.1:8000")
vars().update(
    env.url_config(
        "EMAIL_URL",
        parse=env.email_url_config,
        default="consolemail://",
        example="smtp+tls://user:password@smtp.example.org:587",
    )
)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="engagement@localhost")

# Domain limits.
INGEST_MAX_EVENTS = env.int("INGEST_MAX_EVENTS", default=5000, minimum=1)
LEARNER_DETAIL_CACHE_SECONDS = env.int("LEARNER_DETAIL_CACHE_SECONDS", default=30 * 60)
RISK_SELF_PACED_DAYS = env.int("RISK_SELF_PACED_DAYS", default=84, minimum=1)
RISK_DETAIL_CACHE_SECONDS = env.int("RISK_DETAIL_CACHE_SECONDS", default=3600)
RISK_FEEDBACK_QUIET_DAYS = env.int("RISK_FEEDBACK_QUIET_DAYS", default=14)
RISK_FEEDBACK_RISE = env.float("RISK_FEEDBACK_RISE", default=0.1)
RISK_AGGREGATE_WORK_MEM = env.str("RISK_AGGREGATE_WORK_MEM", default="64MB")
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int(
    "DATA_UPLOAD_MAX_MEMORY_SIZE", default=10 * 1024 * 1024, minimum=1
)

LOG_LEVEL = env.log_level("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
}
