"""The dashboard's template helpers: band badges, percentages, relative days, pagination."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.paginator import Paginator
from django.http import Http404
from django.template import Context, Template
from django.test import RequestFactory
from django.utils import timezone

from engagement.dashboard import CountlessPage, paginate, paginate_without_count
from engagement.errors import ValidationFailed
from engagement.templatetags.dashboard import band_badge, dollars, percent, relative_days


def render(source: str, **context: object) -> str:
    return Template("{% load dashboard %}" + source).render(Context(context))


@pytest.mark.parametrize(
    ("band", "html"),
    [
        ("high", '<span class="badge high">High</span>'),
        ("MEDIUM", '<span class="badge medium">Medium</span>'),
        ("low", '<span class="badge low">Low</span>'),
        ("", '<span class="badge unscored">Not scored</span>'),
        (None, '<span class="badge unscored">Not scored</span>'),
        ("<script>", '<span class="badge unscored">Not scored</span>'),
    ],
)
def test_band_badge(band: str | None, html: str) -> None:
    assert band_badge(band) == html
    assert render("{{ band|band_badge }}", band=band) == html


@pytest.mark.parametrize(
    ("value", "digits", "text"),
    [
        (0.1234, 0, "12%"),
        (0.1234, 1, "12.3%"),
        (1, 0, "100%"),
        (0, 0, "0%"),
        ("0.5", 0, "50%"),
        (None, 0, "—"),
        ("", 0, "—"),
        ("abc", 0, "—"),
        (float("nan"), 0, "—"),
    ],
)
def test_percent(value: object, digits: int, text: str) -> None:
    assert percent(value, digits) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("0.003"), "$0.003"),
        (Decimal("0.00123456"), "$0.0012"),
        (Decimal("0.00001"), "< $0.0001"),
        (Decimal("0"), "$0.00"),
        (Decimal("1.5"), "$1.50"),
        (Decimal("1234.567"), "$1,234.57"),
        (None, "—"),
        ("abc", "—"),
    ],
)
def test_dollars_keep_small_costs_visible(value: object, text: str) -> None:
    assert dollars(value) == text


def test_percent_in_a_template() -> None:
    assert render("{{ rate|percent }} {{ rate|percent:2 }}", rate=0.05678) == "6% 5.68%"


def test_relative_days_counts_in_the_viewer_zone() -> None:
    today = timezone.localdate()
    assert relative_days(today) == "today"
    assert relative_days(today - timedelta(days=1)) == "yesterday"
    assert relative_days(today - timedelta(days=3)) == "3 days ago"
    assert relative_days(today + timedelta(days=1)) == "tomorrow"
    assert relative_days(today + timedelta(days=5)) == "in 5 days"
    assert relative_days(None) == "—"


def test_relative_days_of_a_datetime_uses_the_local_date() -> None:
    late = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)  # already 2 March in Tokyo
    with timezone.override("Asia/Tokyo"):
        assert relative_days(late) == relative_days(date(2026, 3, 2))
    with timezone.override("UTC"):
        assert relative_days(late) == relative_days(date(2026, 3, 1))
    assert render("{{ when|relative_days }}", when=timezone.now()) == "today"


def _request(query: str = "") -> object:
    return RequestFactory().get(f"/dashboard/jobs/?{query}")


def test_pagination_keeps_other_parameters() -> None:
    page = Paginator(list(range(60)), 25).page(2)
    html = render(
        "{% pagination page request %}",
        page=page,
        request=_request("status=running&page=2&kind=a%26b"),
    )
    assert "Page 2 of 3" in html
    assert 'href="?status=running&amp;page=1&amp;kind=a%26b" rel="prev"' in html
    assert 'href="?status=running&amp;page=3&amp;kind=a%26b" rel="next"' in html


def test_pagination_of_a_single_page_shows_nothing() -> None:
    page = Paginator([1, 2], 25).page(1)
    assert render("{% pagination page request %}", page=page, request=_request()).strip() == ""


def test_pagination_without_a_total_shows_the_page_number_only() -> None:
    page = CountlessPage([1, 2], number=1, following=True)
    html = render("{% pagination page request %}", page=page, request=_request())
    assert "Page 1" in html and " of " not in html
    assert 'href="?page=2" rel="next"' in html and 'rel="prev"' not in html


def test_paginate_refuses_bad_page_numbers() -> None:
    for bad in ("0", "-1", "abc", "\u0661"):  # the last: an Arabic-Indic digit one
        with pytest.raises(ValidationFailed):
            paginate(_request(f"page={bad}"), list(range(10)))
    with pytest.raises(Http404):
        paginate(_request("page=3"), list(range(10)), per_page=5)
    assert list(paginate(_request("page=2"), list(range(10)), per_page=5)) == [5, 6, 7, 8, 9]


@pytest.mark.django_db
def test_paginate_without_count_reads_one_row_more(django_assert_num_queries) -> None:
    from engagement.models import AuditEvent

    AuditEvent.objects.bulk_create(
        AuditEvent(actor_type="system", action=f"a{i}") for i in range(7)
    )
    rows = AuditEvent.objects.order_by("action")
    with django_assert_num_queries(1):
        first = paginate_without_count(_request(), rows, per_page=5)
    assert [event.action for event in first] == ["a0", "a1", "a2", "a3", "a4"]
    assert first.has_next() and not first.has_previous()
    last = paginate_without_count(_request("page=2"), rows, per_page=5)
    assert len(last) == 2 and not last.has_next()
    with pytest.raises(Http404):
        paginate_without_count(_request("page=3"), rows, per_page=5)


def test_when_and_day_show_one_format_in_the_viewers_zone_with_the_exact_time() -> None:
    moment = datetime(2026, 12, 2, 9, 53, 7, tzinfo=UTC)
    with timezone.override("Europe/Berlin"):
        assert render("{{ m|when }}", m=moment) == (
            '<time datetime="2026-12-02T10:53:07+01:00" title="2 December 2026 10:53:07 CET">'
            "2 Dec 2026 10:53</time>"
        )
        assert render("{{ m|day }}", m=moment) == (
            '<time datetime="2026-12-02T10:53:07+01:00" title="2 December 2026 10:53:07 CET">'
            "2 Dec 2026</time>"
        )
    with timezone.override("Pacific/Auckland"):  # the next day there
        assert ">3 Dec 2026</time>" in render("{{ m|day }}", m=moment + timedelta(hours=12))


def test_day_of_a_bare_date_and_nothing() -> None:
    assert render("{{ d|day }}", d=date(2026, 9, 27)) == (
        '<time datetime="2026-09-27" title="Sunday 27 September 2026">27 Sep 2026</time>'
    )
    assert ">27 Sep 2026</time>" in render("{{ d|when }}", d=date(2026, 9, 27))
    assert render("{{ d|when }}|{{ d|day }}", d=None) == "—|—"


def test_job_kind_reads_the_registered_label_or_the_id() -> None:
    assert render("{{ k|job_kind }}", k="learners.rescore") == "Rescore learners"
    assert render("{{ k|job_kind }}", k="tests.unregistered") == "tests.unregistered"
