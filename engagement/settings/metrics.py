"""Prometheus metrics: django-prometheus instruments requests, the database and a Redis cache;
``/metrics`` is guarded by a bearer token and/or a network allow-list (open only in ``DEBUG``).

With several processes (gunicorn workers, Celery's pool) prometheus-client keeps its values in
``PROMETHEUS_MULTIPROC_DIR``, which it reads from the environment itself; it is read here too so
that a directory that does not exist stops start-up in one line instead of failing a request.
"""

import ipaddress
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from engagement.settings.base import DEBUG, MIDDLEWARE, env
from engagement.settings.cache import CACHES
from engagement.settings.database import DATABASES

# django-prometheus's drop-in backends: the same engines, counting queries, errors and cache hits.
INSTRUMENTED_DATABASE_ENGINES = {
    "django.db.backends.postgresql": "django_prometheus.db.backends.postgresql",
    "django.db.backends.sqlite3": "django_prometheus.db.backends.sqlite3",
}
INSTRUMENTED_CACHE_BACKENDS = {
    "django_redis.cache.RedisCache": "django_prometheus.cache.backends.redis.RedisCache",
}


def networks_parse(value: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """``METRICS_ALLOWED_NETWORKS``: comma-separated networks (a bare address is a /32 or /128)."""
    try:
        return tuple(
            ipaddress.ip_network(item.strip()) for item in value.split(",") if item.strip()
        )
    except ValueError as exc:
        raise ImproperlyConfigured(
            "METRICS_ALLOWED_NETWORKS must be a comma-separated list of networks such as "
            "10.0.0.0/8,127.0.0.1/32."
        ) from exc


def multiprocess_dir_check(value: str) -> str:
    """``PROMETHEUS_MULTIPROC_DIR``: empty (one process) or an existing directory."""
    if value and not Path(value).is_dir():
        raise ImproperlyConfigured("PROMETHEUS_MULTIPROC_DIR must name an existing directory.")
    return value


MIDDLEWARE.insert(0, "django_prometheus.middleware.PrometheusBeforeMiddleware")
MIDDLEWARE.append("engagement.metrics_http.PrometheusAfterMiddleware")
for _database in DATABASES.values():
    _database["ENGINE"] = INSTRUMENTED_DATABASE_ENGINES.get(
        _database["ENGINE"], _database["ENGINE"]
    )
for _cache in CACHES.values():
    _cache["BACKEND"] = INSTRUMENTED_CACHE_BACKENDS.get(_cache["BACKEND"], _cache["BACKEND"])

# Request latency buckets (seconds); 0.2 is one, so the 200 ms objective is read exactly.
PROMETHEUS_LATENCY_BUCKETS = (
    0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0, 30.0, float("inf"),
)  # fmt: skip
PROMETHEUS_EXPORT_MIGRATIONS = False  # it would query the database while apps load

METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_NETWORKS = networks_parse(env.str("METRICS_ALLOWED_NETWORKS", default=""))
# Open in development only when nothing restricts it; in production an unguarded /metrics is 403.
METRICS_OPEN = DEBUG and not (METRICS_TOKEN or METRICS_ALLOWED_NETWORKS)
PROMETHEUS_MULTIPROC_DIR = multiprocess_dir_check(env.str("PROMETHEUS_MULTIPROC_DIR", default=""))
# The Celery worker serves its metrics here (0: not at all); Prometheus scrapes it like the web.
METRICS_WORKER_PORT = env.int("METRICS_WORKER_PORT", default=9808)
if METRICS_WORKER_PORT > 65535:
    raise ImproperlyConfigured("METRICS_WORKER_PORT must be a port number (0 turns it off).")
# Every interface by default: Prometheus scrapes workers from another host or pod, and the
# exporter answers only with the token or from the allowed networks (as /metrics does).
METRICS_WORKER_ADDRESS = env.str("METRICS_WORKER_ADDRESS", default="0.0.0.0")  # noqa: S104  # nosec B104
