"""What ``/metrics`` and the Celery worker's exporter show, and to whom.

Neither is public: a caller needs the bearer token ``METRICS_TOKEN`` (401 without it) and/or
an address in ``METRICS_ALLOWED_NETWORKS`` (403 outside); both when both are set. With neither
set, it is open in ``DEBUG`` and closed (403) otherwise. With ``PROMETHEUS_MULTIPROC_DIR`` set
(gunicorn workers, Celery's pool) the page adds up every process's values; collectors that apps
register (:meth:`engagement.registry.Registry.add_metrics_collector`) join the web's page.

No import here reads Django settings: the Celery app loads this before Django is set up.
"""

import hmac
import ipaddress
from typing import Any

from django.conf import settings
from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector

from engagement.registry import registry

BEARER_CHALLENGE = 'Bearer realm="metrics"'


def metrics_registry(*, app_collectors: bool = True) -> CollectorRegistry:
    """What to expose: every process's values when several share the multiprocess directory,
    this process's otherwise; plus the collectors apps registered (the web's page only: a
    worker's exporter leaves them out, so a scrape of it never reads the database)."""
    if settings.PROMETHEUS_MULTIPROC_DIR:
        collected = CollectorRegistry()
        MultiProcessCollector(collected, path=settings.PROMETHEUS_MULTIPROC_DIR)
    else:
        collected = CollectorRegistry()
        collected.register(REGISTRY)  # a registry collects like any collector
    for collector in registry.metrics_collectors() if app_collectors else ():
        collected.register(collector)
    return collected


def metrics_refusal(authorization: str, address: str | None) -> tuple[int, str] | None:
    """Why a caller may not read the metrics, as ``(401 or 403, reason)``, or ``None`` if it may.

    ``authorization`` is the request's ``Authorization`` header, ``address`` the client's IP.
    """
    if settings.METRICS_OPEN:
        return None
    token = settings.METRICS_TOKEN
    networks = settings.METRICS_ALLOWED_NETWORKS
    if not (token or networks):
        return 403, "Metrics are off: set METRICS_TOKEN or METRICS_ALLOWED_NETWORKS."
    if token:
        scheme, _, offered = authorization.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            offered.strip().encode(), token.encode()
        ):
            return 401, "A bearer token is required."
    if networks and not _address_allowed(address, networks):
        return 403, "Not allowed from this address."
    return None


def _address_allowed(address: str | None, networks: tuple[Any, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    return any(ip in network for network in networks)
