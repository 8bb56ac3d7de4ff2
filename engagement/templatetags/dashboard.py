"""Template helpers every dashboard page shares: ``{% load dashboard %}``.

- ``{{ band|band_badge }}``: a risk band as a coloured badge with its word ("Not scored" when empty).
- ``{{ rate|percent }}`` / ``{{ rate|percent:1 }}``: a fraction (0.123) as a percentage ("12%").
- ``{{ when|relative_days }}``: a date or datetime as days from today in the viewer's zone.
- ``{% pagination page request %}``: Previous/Next links for a Django ``Page`` (or
  :class:`engagement.dashboard.CountlessPage`), keeping the request's other query parameters.
"""

import math
from datetime import date, datetime
from typing import Any

from django import template
from django.http import HttpRequest
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext, ngettext

from engagement.dashboard import PAGE_PARAM

register = template.Library()

BANDS = {"high": "High", "medium": "Medium", "low": "Low"}


@register.filter
def band_badge(band: Any) -> SafeString:
    """``<span class="badge high">High</span>``; empty or unknown bands read "Not scored"."""
    key = str(band or "").lower()
    if key not in BANDS:
        return format_html('<span class="badge unscored">{}</span>', gettext("Not scored"))
    return format_html('<span class="badge {}">{}</span>', key, gettext(BANDS[key]))


@register.filter
def percent(value: Any, digits: int = 0) -> str:
    """A fraction as a percentage with ``digits`` decimals; "—" when there is no number."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "—"
    if not math.isfinite(number):
        return "—"
    places = int(digits)
    # number_format cuts extra decimals off; round first so 5.678 reads 5.68, not 5.67.
    return f"{formats.number_format(round(number * 100, places), decimal_pos=places)}%"


@register.filter
def relative_days(value: date | datetime | None) -> str:
    """ "today", "yesterday", "3 days ago", "tomorrow", "in 2 days", counted in the viewer's
    time zone (datetimes are converted to it first); "—" for no date."""
    if value is None or value == "":
        return "—"
    if isinstance(value, datetime):
        value = timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    days = (timezone.localdate() - value).days
    if days == 0:
        return gettext("today")
    if days == 1:
        return gettext("yesterday")
    if days == -1:
        return gettext("tomorrow")
    if days > 0:
        return ngettext("%(count)d day ago", "%(count)d days ago", days) % {"count": days}
    return ngettext("in %(count)d day", "in %(count)d days", -days) % {"count": -days}


def _page_url(request: HttpRequest, param: str, number: int) -> str:
    query = request.GET.copy()
    query[param] = str(number)
    return f"?{query.urlencode()}"


@register.inclusion_tag("dashboard/pagination.html")
def pagination(page: Any, request: HttpRequest, param: str = PAGE_PARAM) -> dict[str, Any]:
    """Previous/Next links and "Page x of y" (just "Page x" when the page has no paginator)."""
    paginator = getattr(page, "paginator", None)
    return {
        "page": page,
        "total": paginator.num_pages if paginator is not None else None,
        "previous_url": _page_url(request, param, page.previous_page_number())
        if page.has_previous()
        else "",
        "next_url": _page_url(request, param, page.next_page_number()) if page.has_next() else "",
    }
