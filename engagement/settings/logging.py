"""Logging: every record through structlog, JSON lines in production, console lines in development.

``LOG_FORMAT`` (``json`` or ``console``) defaults to ``console`` with ``DEBUG`` on and ``json``
otherwise. The request log (``engagement.request_log``) replaces Django's own request lines,
which name raw paths and query strings (personal data can travel in both).
"""

from engagement.logs import LOG_FORMATS, configure_structlog, console_logging
from engagement.settings.base import DEBUG, env
from engagement.settings.celery import CELERY_TASK_ALWAYS_EAGER

LOG_LEVEL = env.log_level("LOG_LEVEL", default="INFO")
LOG_FORMAT = env.choice("LOG_FORMAT", choices=LOG_FORMATS, default="console" if DEBUG else "json")
# Tasks run in-process (no broker) are part of the command or request that ran them: Celery's
# per-task lines and kombu's note about the in-memory broker's missing host are noise there.
# Workers keep them.
IN_PROCESS_TASK_LOGGERS = ("celery.app.trace", "kombu.connection")
# Django's own handlers (plain text, only with DEBUG) give way to the structured one: its loggers
# propagate to the root. Its per-request lines go: runserver's access line carries the query
# string and django.request's lines the raw path; the request log says the same without either
# (and with the request id). Exceptions keep django.request's line, with its traceback.
# SQL statements (django.db.backends at DEBUG) carry parameters, personal data among them.
DJANGO_LOGGERS = {
    "django": LOG_LEVEL,
    "django.db.backends": "INFO",
    "django.server": "ERROR",
    "django.request": "ERROR",
}
# The HTTP clients log every request at info; ``nudges.llm.calls`` logs each LLM call once with its
# outcome, attempts and latency, so only their warnings are kept.
HTTP_CLIENT_LOGGERS = ("httpx", "httpx2")
# django-redis (and django-prometheus' instrumented backend) log each cache error they ignore
# there, at error level and half of them with a traceback: two to four lines per request for as
# long as Redis is down. One warning a minute per process says the same.
CACHE_ERROR_LOGGER = "django_redis.cache"
CACHE_ERROR_LOG_INTERVAL = 60
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    **console_logging(LOG_FORMAT),
    "filters": {
        "cache_outage": {
            "()": "engagement.logs.OncePerInterval",
            "interval": CACHE_ERROR_LOG_INTERVAL,
            "message": "Cache unavailable, requests are served without it (every read a miss)",
        },
        "exceptions_only": {"()": "engagement.logs.ExceptionsOnly"},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        **{
            name: {
                "level": level,
                "handlers": [],
                "propagate": True,
                "filters": ["exceptions_only"] if name == "django.request" else [],
            }
            for name, level in DJANGO_LOGGERS.items()
        },
        CACHE_ERROR_LOGGER: {"filters": ["cache_outage"]},
        **{name: {"level": "WARNING"} for name in HTTP_CLIENT_LOGGERS},
        **(
            {name: {"level": "ERROR"} for name in IN_PROCESS_TASK_LOGGERS}
            if CELERY_TASK_ALWAYS_EAGER
            else {}
        ),
    },
}
configure_structlog()
