"""Dashboard pages of the analytics app."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from engagement.dashboard import staff_page


@staff_page()
def overview(request: HttpRequest) -> HttpResponse:
    """The overview a member of staff lands on after signing in."""
    return render(request, "analytics/overview.html", {})
