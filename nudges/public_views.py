"""The pages a learner reaches from a nudge email, without signing in: unsubscribe, and the
open and click counters of tracked emails. Each link is signed (``nudges.delivery``); a link
that is not ours changes nothing.

Unsubscribing asks for a click (a POST): mail scanners fetch links, and must not unsubscribe
anyone. The POST needs no CSRF token: the signed link is its authority, and mail clients'
one-click unsubscribe (RFC 8058) posts without one.
"""

import base64
from contextlib import suppress

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from nudges.delivery import (
    ALL_CATEGORIES,
    BadLink,
    nudge_clicked,
    nudge_opened,
    unsubscribe,
    unsubscribe_target,
)

#: A transparent 1x1 GIF.
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def unsubscribe_page(request: HttpRequest, token: str) -> HttpResponse:
    try:
        _, category = unsubscribe_target(token)
        if request.method == "POST":
            unsubscribe(token)
    except BadLink:
        return render(request, "nudges/unsubscribe.html", {"invalid": True}, status=404)
    context = {"done": request.method == "POST", "everything": category == ALL_CATEGORIES}
    return render(request, "nudges/unsubscribe.html", context)


@never_cache
@require_GET
def open_pixel(request: HttpRequest, token: str) -> HttpResponse:
    """The tracking image: counted once, and an image whatever the link."""
    with suppress(BadLink):
        nudge_opened(token)
    return HttpResponse(PIXEL, content_type="image/gif")


@never_cache
@require_GET
def click(request: HttpRequest, token: str) -> HttpResponse:
    try:
        target = nudge_clicked(token)
    except BadLink:
        return HttpResponse("This link does not work.", status=404, content_type="text/plain")
    return HttpResponseRedirect(target)
