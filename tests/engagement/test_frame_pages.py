"""The platform's dashboard pages: account (time zone), jobs list and job detail, error pages."""

from datetime import UTC, datetime
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from engagement.models import AuditEvent, Job, JobStatus, Role, User
from tests.factories import CohortAssignmentFactory, CohortFactory, UserFactory

pytestmark = pytest.mark.django_db

PAGES = ["/dashboard/account/", "/dashboard/jobs/"]


def signed_in(role: str, **fields: Any) -> tuple[Client, Any]:
    user = UserFactory(role=role, **fields)
    client = Client()
    client.force_login(user)
    return client, user


def make_job(user: User | None, **fields: Any) -> Job:
    return Job.objects.create(kind="learners.rescore", requested_by=user, **fields)


@pytest.mark.parametrize("path", [*PAGES, "/dashboard/jobs/0190a1b2-0000-7000-8000-000000000000/"])
def test_anonymous_visitors_are_sent_to_sign_in(client: Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


@pytest.mark.parametrize("role", [Role.ADMIN, Role.COACH, Role.ANALYST])
@pytest.mark.parametrize("path", PAGES)
def test_every_staff_role_opens_the_frame_pages(role: str, path: str) -> None:
    client, _ = signed_in(role)
    response = client.get(path)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'href="/dashboard/jobs/"' in html  # the Jobs navigation entry
    assert "<style" not in html and "onclick" not in html


def test_account_page_shows_role_cohorts_and_current_zone() -> None:
    client, coach = signed_in(Role.COACH, timezone="Europe/Paris")
    CohortAssignmentFactory(user=coach, cohort=CohortFactory(name="Evening <B> & C"))
    CohortFactory(name="Someone else's cohort")
    html = client.get("/dashboard/account/").content.decode()
    assert "Coach" in html and "Evening &lt;B&gt; &amp; C" in html
    assert "Someone else" not in html
    assert "Europe/Paris" in html
    assert '<option value="Europe/Paris" selected>' in html
    admin_html = signed_in(Role.ADMIN)[0].get("/dashboard/account/").content.decode()
    assert "All cohorts" in admin_html


def test_choosing_a_zone_saves_it_and_redirects_with_a_message() -> None:
    client, coach = signed_in(Role.COACH)
    response = client.post("/dashboard/account/", {"timezone": "Asia/Tokyo"})
    assert response.status_code == 302 and response["Location"] == "/dashboard/account/"
    coach.refresh_from_db()
    assert coach.timezone == "Asia/Tokyo"
    page = client.get("/dashboard/account/").content.decode()
    assert "Times are now shown in Asia/Tokyo." in page
    assert "JST" in page  # the account area names the viewer's zone
    assert AuditEvent.objects.filter(
        action="user.update", changes={"timezone": "Asia/Tokyo"}
    ).exists()


@pytest.mark.parametrize("zone", ["Mars/Olympus", "US/Eastern", "localtime", ""])
def test_an_unknown_zone_is_a_400_with_the_form_again(zone: str) -> None:
    client, coach = signed_in(Role.ANALYST)
    response = client.post("/dashboard/account/", {"timezone": zone})
    assert response.status_code == 400
    assert "Choose a time zone from the list." in response.content.decode()
    coach.refresh_from_db()
    assert coach.timezone == "UTC"


def test_a_superuser_coach_may_set_their_own_zone() -> None:
    client, user = signed_in(Role.COACH, is_superuser=True, is_staff=True)
    assert client.post("/dashboard/account/", {"timezone": "Europe/Berlin"}).status_code == 302
    user.refresh_from_db()
    assert user.timezone == "Europe/Berlin"


def test_times_on_pages_follow_the_viewer_zone() -> None:
    client, coach = signed_in(Role.COACH, timezone="Asia/Tokyo")
    job = make_job(coach)
    Job.objects.filter(pk=job.pk).update(created_at=datetime(2026, 3, 1, 23, 30, tzinfo=UTC))
    assert "2 Mar 2026 08:30 JST" in client.get("/dashboard/jobs/").content.decode()
    coach.timezone = "America/New_York"
    coach.save()
    assert "1 Mar 2026 18:30 EST" in client.get("/dashboard/jobs/").content.decode()


def test_new_users_get_the_site_zone(settings: Any) -> None:
    settings.TIME_ZONE = "Europe/Lisbon"
    assert User.objects.create(username="new-person").timezone == "Europe/Lisbon"


def test_coaches_see_their_own_jobs_and_admins_all() -> None:
    client, coach = signed_in(Role.COACH)
    other = UserFactory(role=Role.COACH)
    mine = make_job(coach, params={"cohort_id": "mine-marker"})
    theirs = make_job(other)
    html = client.get("/dashboard/jobs/").content.decode()
    assert f"/dashboard/jobs/{mine.pk}/" in html and str(theirs.pk) not in html
    assert client.get(f"/dashboard/jobs/{theirs.pk}/").status_code == 404
    assert client.post(f"/dashboard/jobs/{theirs.pk}/cancel/").status_code == 404
    admin_html = signed_in(Role.ADMIN)[0].get("/dashboard/jobs/").content.decode()
    assert str(mine.pk) in admin_html and str(theirs.pk) in admin_html


def test_jobs_list_query_count_does_not_grow(django_assert_num_queries: Any) -> None:
    client, _ = signed_in(Role.ADMIN)
    requesters = [UserFactory(role=Role.COACH) for _ in range(3)]
    for user in requesters:
        make_job(user)
    client.get("/dashboard/jobs/")  # warm the session
    with django_assert_num_queries(4) as few:
        client.get("/dashboard/jobs/")
    for user in requesters * 5:
        make_job(user)
    with django_assert_num_queries(len(few.captured_queries)):
        assert client.get("/dashboard/jobs/").status_code == 200


def test_jobs_list_filters_paginates_and_refuses_bad_input() -> None:
    client, coach = signed_in(Role.COACH)
    for _ in range(30):
        make_job(coach)
    make_job(coach, status=JobStatus.FAILED)
    failed = client.get("/dashboard/jobs/?status=failed").content.decode()
    assert failed.count("status-failed") == 1
    first = client.get("/dashboard/jobs/").content.decode()
    assert "Page 1 of 2" in first and 'href="?page=2"' in first
    bad_status = client.get("/dashboard/jobs/?status=bogus")
    assert bad_status.status_code == 400 and "bogus" in bad_status.content.decode()
    assert client.get("/dashboard/jobs/?page=abc").status_code == 400
    assert client.get("/dashboard/jobs/?page=9").status_code == 404


def test_running_job_page_refreshes_and_polls_until_finished() -> None:
    client, coach = signed_in(Role.COACH)
    job = make_job(
        coach, status=JobStatus.RUNNING, progress=0.4, params={"cohort_id": "c-1", "flags": [1, 2]}
    )
    html = client.get(f"/dashboard/jobs/{job.pk}/").content.decode()
    assert '<meta http-equiv="refresh" content="2">' in html
    assert f'data-job-poll="/api/v1/jobs/{job.pk}/"' in html
    assert "dashboard/jobs.js" in html and "Cancel job" in html
    assert 'value="0.400"' in html and "40%" in html
    assert "<dt>cohort_id</dt><dd>c-1</dd>" in html and "<pre>[\n  1,\n  2\n]</pre>" in html
    Job.objects.filter(pk=job.pk).update(
        status=JobStatus.SUCCEEDED, progress=1, result={"scored": 12}
    )
    done = client.get(f"/dashboard/jobs/{job.pk}/").content.decode()
    assert "http-equiv" not in done and "jobs.js" not in done and "Cancel job" not in done
    assert "<dt>scored</dt><dd>12</dd>" in done


def test_failed_job_shows_its_error() -> None:
    client, coach = signed_in(Role.ANALYST)
    job = make_job(coach, status=JobStatus.FAILED, error="The job ran out of <time>.")
    html = client.get(f"/dashboard/jobs/{job.pk}/").content.decode()
    assert "The job ran out of &lt;time&gt;." in html


def test_cancel_a_running_job_then_again() -> None:
    client, coach = signed_in(Role.COACH)
    job = make_job(coach, status=JobStatus.RUNNING)
    assert client.get(f"/dashboard/jobs/{job.pk}/cancel/").status_code == 405
    response = client.post(f"/dashboard/jobs/{job.pk}/cancel/", follow=True)
    assert response.redirect_chain == [(f"/dashboard/jobs/{job.pk}/", 302)]
    assert "The job was cancelled." in response.content.decode()
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED
    assert AuditEvent.objects.filter(action="job.cancel", target_id=str(job.pk)).exists()
    again = client.post(f"/dashboard/jobs/{job.pk}/cancel/", follow=True)
    assert "already finished" in again.content.decode()


def test_session_polling_reads_the_job_api() -> None:
    client, coach = signed_in(Role.COACH)
    job = make_job(coach, status=JobStatus.RUNNING, progress=0.25)
    response = client.get(f"/api/v1/jobs/{job.pk}/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200 and response.json()["progress"] == 0.25


def test_dashboard_404_and_403_are_dashboard_pages_api_stays_json() -> None:
    client, _ = signed_in(Role.COACH)
    missing = client.get("/dashboard/no-such-page/")
    assert missing.status_code == 404
    html = missing.content.decode()
    assert (
        "Page not found" in html
        and "dashboard/dashboard.css" in html
        and 'href="/dashboard/jobs/"' in html
    )
    malformed = client.get("/dashboard/jobs/not-a-uuid/")
    assert malformed.status_code == 404
    api = client.get("/api/v1/no-such-thing/")
    assert api.status_code == 404 and api["Content-Type"].startswith("application/json")
    anonymous = Client().get("/dashboard/no-such-page/")
    assert anonymous.status_code == 404 and 'href="/accounts/login/"' in anonymous.content.decode()


def test_users_api_reads_and_changes_the_zone() -> None:
    api = APIClient()
    api.force_authenticate(UserFactory(role=Role.ADMIN))
    coach = UserFactory(role=Role.COACH)
    assert api.get(f"/api/v1/users/{coach.pk}/").json()["timezone"] == "UTC"
    changed = api.patch(f"/api/v1/users/{coach.pk}/", {"timezone": "Europe/Madrid"}, format="json")
    assert changed.status_code == 200 and changed.json()["timezone"] == "Europe/Madrid"
    refused = api.patch(f"/api/v1/users/{coach.pk}/", {"timezone": "Nowhere/Land"}, format="json")
    assert refused.status_code == 400 and "timezone" in str(refused.json())
    created = api.post(
        "/api/v1/users/",
        {
            "username": "zoned",
            "role": "coach",
            "password": "a-Strong-pass-123",
            "timezone": "Asia/Kolkata",
        },
        format="json",
    )
    assert created.status_code == 201 and created.json()["timezone"] == "Asia/Kolkata"
