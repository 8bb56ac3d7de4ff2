"""The project's URLs plus ``/bench/bare/``: the floor that ``api_lists.py`` compares each API
endpoint with, served by the same gunicorn, middleware and database."""

from django.http import HttpRequest, JsonResponse
from django.urls import path

from engagement.urls import handler400, handler403, handler404, handler500, urlpatterns
from learners.models import Learner

BARE_PATH = "bench/bare/"
BARE_ROWS = 25


def bare(request: HttpRequest) -> JsonResponse:
    """25 rows of the 100,000-row learner table in primary-key order: an index scan, a plain
    ``values()`` and ``JsonResponse``, with no authentication, throttle, filter or serializer."""
    rows = list(
        Learner.objects.order_by("pk").values("id", "external_id", "status", "risk_band")[
            :BARE_ROWS
        ]
    )
    return JsonResponse({"results": rows})


urlpatterns = [path(BARE_PATH, bare), *urlpatterns]
__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]
