"""The overview and cohorts pages: every role, scope, bad input, no personal data for analysts."""

from datetime import timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from analytics.services import snapshots_write
from learners.models import CohortAssignment
from tests.analytics.conftest import MARKER, assess
from tests.factories import LearnerFactory

pytestmark = pytest.mark.django_db

PAGES = ["/dashboard/", "/dashboard/cohorts/"]


@pytest.fixture
def data(world: dict[str, Any]) -> dict[str, Any]:
    cache.clear()
    now = timezone.now()
    for cohort, name in ((world["cohort"], f"Ann {MARKER}"), (world["other"], "Bob Hidden")):
        learner = LearnerFactory(
            cohort=cohort,
            name=name,
            email=f"{MARKER}@example.org",
            external_id=f"{MARKER}-{cohort.name[:4]}",
            enrolled_at=now - timedelta(days=20),
        )
        assess(learner, world["model"], now - timedelta(days=2), "low", 0.2)
        assess(learner, world["model"], now - timedelta(hours=1), "high", 0.9, current=True)
        world[f"learner-{cohort.name[:4]}"] = learner
    for days_ago in (3, 2, 1, 0):
        snapshots_write((now - timedelta(days=days_ago)).date(), now=now)
    return world


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("path", PAGES)
def test_anonymous_visitors_are_sent_to_sign_in(path: str) -> None:
    response = Client().get(path)
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={path}"


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("role", ["admin", "coach", "analyst"])
def test_staff_open_the_pages(data: dict[str, Any], path: str, role: str) -> None:
    response = _client(data[role]).get(path)
    assert response.status_code == 200
    assert 'href="/dashboard/cohorts/"' in response.content.decode()


def test_a_user_without_a_role_is_refused(data: dict[str, Any]) -> None:
    from tests.factories import UserFactory

    nobody = UserFactory(role="")
    for path in PAGES:
        assert _client(nobody).get(path).status_code == 403


def test_the_overview_shows_the_figures(data: dict[str, Any]) -> None:
    body = _client(data["admin"]).get("/dashboard/").content.decode()
    assert 'data-kpi="high-risk"' in body
    assert f"Since {timezone.now().date().replace(day=1):%-d %b} (UTC)" in body
    week_ago = (timezone.now() - timedelta(days=7)).date()
    assert f"No snapshot of {week_ago:%-d %b} to compare with yet." in body
    assert f"Ann {MARKER}" in body
    assert f'href="/dashboard/learners/{data["learner-Alph"].pk}/"' in body
    assert 'href="/dashboard/learners/?unattended=true"' in body  # the rest of the list
    assert "In the last 24 hours" in body
    assert "Since yesterday" not in body
    assert 'href="/api/v1/analytics/changes/?format=csv"' in body
    assert "Events by kind per day (UTC)" in body  # the chart, not only the table
    assert body.count("Day (UTC)") == 2  # both trend tables
    assert "Cora Coach" in body  # the caseloads
    assert "Alpha cohort" in body and "Beta cohort" in body


def test_a_coach_sees_only_their_cohorts(data: dict[str, Any]) -> None:
    for path in PAGES:
        body = _client(data["coach"]).get(path).content.decode()
        assert "Alpha cohort" in body
        assert "Beta cohort" not in body
        assert "Bob Hidden" not in body


@pytest.mark.parametrize("path", PAGES)
def test_analysts_see_no_personal_data(data: dict[str, Any], path: str) -> None:
    body = _client(data["analyst"]).get(path).content.decode()
    assert MARKER not in body
    assert "Bob Hidden" not in body
    assert "Learner " in body or path != "/dashboard/"


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("days", ["0", "abc", "10000"])
def test_bad_days_answer_400_with_the_reason(data: dict[str, Any], path: str, days: str) -> None:
    response = _client(data["admin"]).get(path, {"days": days})
    assert response.status_code == 400
    assert 'role="alert"' in response.content.decode()
    assert "Days of history" in response.content.decode()


def test_the_days_window_applies(data: dict[str, Any]) -> None:
    body = _client(data["admin"]).get("/dashboard/", {"days": "2"}).content.decode()
    assert "last 2 days" in body


def test_trend_tables_show_every_day_with_a_dash_where_no_snapshot_exists(
    data: dict[str, Any],
) -> None:
    body = _client(data["admin"]).get("/dashboard/", {"days": "6"}).content.decode()
    day = (timezone.now() - timedelta(days=5)).date()
    row = body.split(f'<th scope="row">{day:%Y-%m-%d}</th>')
    assert len(row) == 3  # the engagement and the risk tables
    assert row[1].split("</tr>")[0].startswith('<td class="number">—</td>')
    assert row[2].split("</tr>")[0].startswith('<td class="number">—</td>')


def test_the_overview_compares_with_a_labelled_day(data: dict[str, Any]) -> None:
    now = timezone.now()
    snapshots_write((now - timedelta(days=7)).date(), now=now)
    body = _client(data["admin"]).get("/dashboard/").content.decode()
    week_ago = (now - timedelta(days=7)).date()
    assert f"vs {week_ago:%-d %b} (UTC)" in body


def test_earlier_bands_read_as_their_labels(data: dict[str, Any]) -> None:
    learner = data["learner-Alph"]
    assess(learner, data["model"], timezone.now() - timedelta(days=1, hours=1), "medium", 0.5)
    assess(learner, data["model"], timezone.now() - timedelta(hours=1), "high", 0.9, current=True)
    cache.clear()
    body = _client(data["admin"]).get("/dashboard/").content.decode()
    assert "was Medium" in body
    assert "was medium" not in body


def test_the_cohorts_page(data: dict[str, Any]) -> None:
    body = _client(data["admin"]).get("/dashboard/cohorts/").content.decode()
    cohort = data["cohort"]
    assert f'href="/dashboard/learners/?cohort={cohort.pk}"' in body
    assert 'href="/api/v1/analytics/cohorts/?format=csv"' in body
    assert "Cora Coach" in body
    assert 'aria-current="page"' in body


def test_a_finished_cohort_links_to_all_its_learners(data: dict[str, Any]) -> None:
    """The table lists studying learners by default: a cohort with none leads to every status."""
    cohort = data["cohort"]
    cohort.learners.update(status="completed", finished_at=timezone.now())
    cache.clear()
    body = _client(data["admin"]).get("/dashboard/cohorts/").content.decode()
    assert f'href="/dashboard/learners/?cohort={cohort.pk}&amp;status=all"' in body
    assert f'href="/dashboard/learners/?cohort={data["other"].pk}"' in body


def test_the_cohorts_page_without_cohorts(data: dict[str, Any]) -> None:
    CohortAssignment.objects.all().delete()
    body = _client(data["coach"]).get("/dashboard/cohorts/").content.decode()
    assert "none is assigned to you" in body


def test_the_overview_takes_the_same_queries_whatever_the_data(
    data: dict[str, Any], settings: Any
) -> None:
    settings.ANALYTICS_CACHE_SECONDS = 0
    client = _client(data["coach"])
    client.get("/dashboard/")
    with CaptureQueriesContext(connection) as first:
        client.get("/dashboard/")
    now = timezone.now()
    for _ in range(8):
        learner = LearnerFactory(cohort=data["cohort"], enrolled_at=now - timedelta(days=5))
        assess(learner, data["model"], now - timedelta(hours=2), "high", 0.8, current=True)
    with CaptureQueriesContext(connection) as second:
        client.get("/dashboard/")
    assert len(second) == len(first)
