"""``/metrics`` for Prometheus (guarded, see :mod:`engagement.metrics_exposition`), and the
request metrics' middleware."""

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django_prometheus.middleware import (
    PrometheusAfterMiddleware as DjangoPrometheusAfterMiddleware,
)
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from engagement.metrics_exposition import BEARER_CHALLENGE, metrics_refusal, metrics_registry
from engagement.request_context import client_ip

KNOWN_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"}
)


class PrometheusAfterMiddleware(DjangoPrometheusAfterMiddleware):
    """django-prometheus's, except that the latency's ``method`` label is bounded too (it takes
    the raw method there, which a client chooses)."""

    def label_metric(self, metric: Any, request: Any, response: Any = None, **labels: Any) -> Any:
        if labels.get("method") not in KNOWN_METHODS and "method" in labels:
            labels["method"] = "<invalid method>"
        return super().label_metric(metric, request, response, **labels)


@never_cache
def metrics_view(request: HttpRequest) -> HttpResponse:
    """The Prometheus text format, for a caller the settings allow."""
    refusal = metrics_refusal(request.headers.get("Authorization", ""), client_ip(request))
    if refusal is not None:
        status, reason = refusal
        response = HttpResponse(f"{reason}\n", status=status, content_type="text/plain")
        if status == 401:
            response["WWW-Authenticate"] = BEARER_CHALLENGE
        return response
    return HttpResponse(generate_latest(metrics_registry()), content_type=CONTENT_TYPE_LATEST)
