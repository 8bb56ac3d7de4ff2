"""Liveness and readiness probes for load balancers and orchestrators."""

from collections.abc import Callable

from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse


def _database_ok() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _cache_ok() -> None:
    cache.set("readyz-probe", "1", timeout=5)
    if cache.get("readyz-probe") != "1":
        raise RuntimeError("cache did not return the value just written")


CHECKS: dict[str, Callable[[], None]] = {"database": _database_ok, "cache": _cache_ok}


def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up and answering."""
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> JsonResponse:
    """Ready to serve: every dependency answers; otherwise 503 naming what failed."""
    failures: dict[str, str] = {}
    for name, check in CHECKS.items():
        try:
            check()
        except Exception as exc:
            failures[name] = exc.__class__.__name__
    if failures:
        return JsonResponse({"status": "unavailable", "failing": failures}, status=503)
    return JsonResponse({"status": "ok", "checks": dict.fromkeys(CHECKS, "ok")})
