"""Liveness and readiness probes for load balancers and orchestrators.

Readiness fails (503) when the database or the broker does not answer, naming it; a failing
cache is reported (``"status": "degraded"``) without failing it, since requests keep working.

Readiness runs every dependency check at once, each in its own thread, and waits at most
``READINESS_TIMEOUT`` seconds for all of them: a hung database, cache or broker makes the probe
answer 503 naming it (``"timeout"``) instead of hanging the probe. A thread left behind by a hung
check ends when the dependency's own timeout fires; it holds no lock the next probe needs.
"""

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse

from engagement.celery import app as celery_app
from engagement.failures import failure_name

OK = "ok"
NOT_USED = "not used"
TIMED_OUT = "timeout"


def _database_ok() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    finally:
        connection.close()  # this thread's connection (or pool slot) must not outlive the probe
    return OK


def _cache_ok() -> str:
    """A write read back. Through django-redis' client, which raises what the cache itself swallows
    (``IGNORE_EXCEPTIONS``), so the probe names the cause; other caches are used directly."""
    store = getattr(cache, "client", cache)
    store.set("readyz-probe", "1", timeout=5)
    if store.get("readyz-probe") != "1":
        raise RuntimeError("cache did not return the value just written")
    return OK


def _broker_ok() -> str:
    """Eager tasks (no broker configured) need none; otherwise one connection within the timeout."""
    if celery_app.conf.task_always_eager:
        return NOT_USED
    with celery_app.connection_for_write() as broker:
        broker.ensure_connection(max_retries=0, timeout=settings.READINESS_TIMEOUT)
    return OK


CHECKS: dict[str, Callable[[], str]] = {
    "database": _database_ok,
    "cache": _cache_ok,
    "broker": _broker_ok,
}
# Dependencies the platform keeps serving without: a cache outage only slows requests (every read
# a miss), so it is reported as degraded rather than taking every instance out of service.
DEGRADABLE = frozenset({"cache"})


def _outcome(future: Future[str]) -> str:
    if not future.done():
        return TIMED_OUT
    error = future.exception()
    return future.result() if error is None else failure_name(error)


def check_dependencies(timeout: float) -> dict[str, str]:
    """Each check's outcome: ``ok``, ``not used``, ``timeout`` or the failure's name (its class and
    the system's reason, never its message: see :mod:`engagement.failures`)."""
    executor = ThreadPoolExecutor(max_workers=len(CHECKS), thread_name_prefix="readyz")
    futures = {name: executor.submit(check) for name, check in CHECKS.items()}
    wait(futures.values(), timeout=timeout)
    executor.shutdown(wait=False, cancel_futures=True)
    return {name: _outcome(future) for name, future in futures.items()}


def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up and answering."""
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> JsonResponse:
    """Ready to serve: every dependency answers in time; otherwise 503 naming what failed."""
    checks = check_dependencies(settings.READINESS_TIMEOUT)
    failures = {name: outcome for name, outcome in checks.items() if outcome not in (OK, NOT_USED)}
    fatal = {name: outcome for name, outcome in failures.items() if name not in DEGRADABLE}
    if fatal:
        return JsonResponse(
            {"status": "unavailable", "failing": failures, "checks": checks}, status=503
        )
    if failures:
        return JsonResponse({"status": "degraded", "failing": failures, "checks": checks})
    return JsonResponse({"status": "ok", "checks": checks})
