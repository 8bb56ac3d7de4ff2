"""Template helpers every dashboard page shares: ``{% load dashboard %}``.

- ``{{ band|band_badge }}``: a risk band as a coloured badge with its word ("Not scored" when empty).
- ``{{ band|band_label }}``: the same word alone, translated, for running text.
- ``{{ rate|percent }}`` / ``{{ rate|percent:1 }}``: a fraction (0.123) as a percentage ("12%").
- ``{{ amount|dollars }}``: US dollars with cents ("$1.25"); below a cent up to four decimals
  ("$0.003"), so a small cost does not read as nothing.
- ``{{ when|relative_days }}``: a date or datetime as days from today in the viewer's zone.
- ``{{ moment|when }}`` / ``{{ moment|day }}``: the dashboard's one date-time format ("2 Dec 2026
  10:53") and one date format ("2 Dec 2026"), in the viewer's zone, as ``<time>`` elements whose
  ``title`` gives the exact moment.
- ``{{ job.kind|job_kind }}``: a job kind's registered label (its id when none is registered).
- ``{% pagination page request %}``: Previous/Next links for a Django ``Page`` (or
  :class:`engagement.dashboard.CountlessPage`), keeping the request's other query parameters.
"""

import math
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django import template
from django.http import HttpRequest
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext, ngettext

from engagement.dashboard import PAGE_PARAM
from engagement.registry import registry

register = template.Library()

BANDS = {"high": "High", "medium": "Medium", "low": "Low"}


@register.filter
def band_badge(band: Any) -> SafeString:
    """``<span class="badge high">High</span>``; empty or unknown bands read "Not scored"."""
    key = str(band or "").lower()
    return format_html(
        '<span class="badge {}">{}</span>', key if key in BANDS else "unscored", band_label(band)
    )


@register.filter
def band_label(band: Any) -> str:
    """A risk band's word, translated ("High"); empty or unknown bands read "Not scored"."""
    key = str(band or "").lower()
    return gettext(BANDS[key]) if key in BANDS else gettext("Not scored")


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


DATE_TIME_FORMAT = "j M Y H:i"
DATE_FORMAT = "j M Y"
EXACT_TIME_FORMAT = "j F Y H:i:s T"
EXACT_DATE_FORMAT = "l j F Y"
NO_DATE = "—"


def _local(value: date | datetime) -> date | datetime:
    """Datetimes in the viewer's zone (naive ones as they are); dates as they are."""
    if isinstance(value, datetime) and timezone.is_aware(value):
        return timezone.localtime(value)
    return value


@register.filter
def exact_time(value: date | datetime | None) -> str:
    """The exact moment ("2 December 2026 10:53:07 CET"), or the full date of a bare date: what
    the ``title`` of :func:`when` and :func:`day` says."""
    if value is None or value == "":
        return NO_DATE
    local = _local(value)
    exact = EXACT_TIME_FORMAT if isinstance(local, datetime) else EXACT_DATE_FORMAT
    return formats.date_format(local, exact)


def _time_element(value: date | datetime | None, shown: str) -> SafeString | str:
    """``value`` as ``<time datetime="ISO" title="exact">`` showing it in the format ``shown``
    (a bare date always as a date), "—" for none."""
    if value is None or value == "":
        return NO_DATE
    local = _local(value)
    text = formats.date_format(local, shown if isinstance(local, datetime) else DATE_FORMAT)
    return format_html(
        '<time datetime="{}" title="{}">{}</time>', local.isoformat(), exact_time(local), text
    )


@register.filter
def when(value: date | datetime | None) -> SafeString | str:
    """A moment as "2 Dec 2026 10:53" in the viewer's zone (a bare date as "2 Dec 2026")."""
    return _time_element(value, DATE_TIME_FORMAT)


@register.filter
def day(value: date | datetime | None) -> SafeString | str:
    """A date, or the day of a moment in the viewer's zone, as "2 Dec 2026"."""
    return _time_element(value, DATE_FORMAT)


@register.filter
def dollars(value: Any) -> str:
    """ "$1.25"; "$0.003" below a cent (four decimals at most, "< $0.0001" below that); "—" when
    there is no number."""
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return "—"
    if not amount.is_finite():
        return "—"
    if amount == 0 or abs(amount) >= Decimal("0.01"):
        cents = amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        return f"${formats.number_format(cents, 2, force_grouping=True)}"
    small = amount.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
    if small == 0:
        return "< $0.0001"
    return f"${formats.number_format(small.normalize(), use_l10n=True)}"


@register.filter
def job_kind(kind: str) -> str:
    """The label a job kind was registered with (``registry.add_job_kind``), else its id."""
    registered = registry.job_kinds().get(kind)
    return str(registered.label) if registered else kind


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
