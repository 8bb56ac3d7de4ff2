"""The dashboard frame in a real browser under the real CSP: sign in, choose a time zone, watch
a job's progress move without reloading the page."""

from datetime import UTC, datetime
from typing import Any

import pytest

from engagement.jobs import job_progress
from engagement.models import Job, JobStatus, User
from tests.e2e.conftest import screenshot, sign_in
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


def signed_in(live_server: Any, page: Any, username: str) -> list[str]:
    """Sign in through /accounts/login/; returns the console log to check for CSP reports."""
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    sign_in(page, live_server.url, username)
    return console


def no_csp_reports(console: list[str]) -> bool:
    return not [text for text in console if "Content Security Policy" in text]


def test_a_coach_changes_time_zone_and_sees_job_times_in_it(live_server: Any, page: Any) -> None:
    coach = UserFactory(username="coach-zone", role="coach")
    job = Job.objects.create(
        kind="learners.rescore", requested_by=coach, status=JobStatus.SUCCEEDED
    )
    Job.objects.filter(pk=job.pk).update(created_at=datetime(2026, 3, 1, 23, 30, tzinfo=UTC))
    console = signed_in(live_server, page, "coach-zone")
    assert page.locator(".account .zone").inner_text() == "UTC"
    page.click(".account a[href='/dashboard/account/']")
    page.wait_for_selector("h1:has-text('Your account')")
    page.select_option("select[name=timezone]", "Asia/Tokyo")
    page.click("form.stacked-form button[type=submit]")
    page.wait_for_selector("text=Times are now shown in Asia/Tokyo.")
    assert page.locator(".account .zone").inner_text() == "JST"
    screenshot(page, "dashboard-account-timezone")
    page.click("nav a:has-text('Jobs')")
    page.wait_for_selector("h1:has-text('Jobs')")
    assert "2 Mar 2026 08:30" in page.inner_text("table")
    assert page.locator("table time").first.get_attribute("title") == "2 March 2026 08:30:00 JST"
    assert page.locator("nav a[aria-current=page]").inner_text() == "Jobs"
    screenshot(page, "dashboard-jobs-in-tokyo-time")
    assert User.objects.get(pk=coach.pk).timezone == "Asia/Tokyo"
    assert no_csp_reports(console)


def test_a_running_job_page_updates_its_progress_in_place(live_server: Any, page: Any) -> None:
    coach = UserFactory(username="coach-job", role="coach")
    job = Job.objects.create(
        kind="learners.rescore",
        requested_by=coach,
        status=JobStatus.RUNNING,
        progress=0.1,
        params={"cohort_id": "c-42"},
    )
    console = signed_in(live_server, page, "coach-job")
    page.goto(f"{live_server.url}/dashboard/jobs/{job.pk}/")
    page.wait_for_selector("[data-job-progress-text]:has-text('10%')")
    page.evaluate("window.__sameDocument = true")  # gone if the page were reloaded
    screenshot(page, "dashboard-job-running")
    job_progress(job_id=job.pk, progress=0.6)
    page.wait_for_selector("[data-job-progress-text]:has-text('60%')", timeout=10_000)
    assert page.evaluate("window.__sameDocument") is True
    assert page.locator("progress#job-progress").get_attribute("value") is not None
    assert page.evaluate("document.getElementById('job-progress').value") == pytest.approx(0.6)
    screenshot(page, "dashboard-job-progress-updated")
    Job.objects.filter(pk=job.pk).update(
        status=JobStatus.SUCCEEDED, progress=1.0, result={"scored": 42}
    )
    page.wait_for_selector("dt:has-text('scored') + dd:has-text('42')", timeout=10_000)
    assert page.locator("[data-job-status]").inner_text() == "Succeeded"
    assert page.locator("button:has-text('Cancel job')").count() == 0
    screenshot(page, "dashboard-job-finished")
    page.wait_for_timeout(2500)  # a finished page must not keep reloading itself
    assert page.evaluate("performance.getEntriesByType('navigation')[0].type") == "reload"
    assert page.evaluate("window.__reloadedOnce = true") is True
    page.wait_for_timeout(2500)
    assert page.evaluate("window.__reloadedOnce") is True
    assert no_csp_reports(console)


def test_cancelling_a_job_and_the_dashboard_404(live_server: Any, page: Any) -> None:
    coach = UserFactory(username="coach-cancel", role="coach")
    job = Job.objects.create(kind="learners.rescore", requested_by=coach, status=JobStatus.QUEUED)
    console = signed_in(live_server, page, "coach-cancel")
    page.goto(f"{live_server.url}/dashboard/jobs/")
    page.click(f"a[href='/dashboard/jobs/{job.pk}/']")
    page.click("button:has-text('Cancel job')")
    page.wait_for_selector("text=The job was cancelled.")
    assert page.locator("[data-job-status]").inner_text() == "Cancelled"
    screenshot(page, "dashboard-job-cancelled")
    other = Job.objects.create(kind="learners.rescore", requested_by=UserFactory(role="coach"))
    response = page.goto(f"{live_server.url}/dashboard/jobs/{other.pk}/")
    assert response.status == 404
    assert page.locator("h1").inner_text() == "Page not found"
    screenshot(page, "dashboard-404")
    page.set_viewport_size({"width": 800, "height": 900})
    page.goto(f"{live_server.url}/dashboard/jobs/")
    screenshot(page, "dashboard-jobs-tablet")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    assert no_csp_reports(console)


def test_without_javascript_a_running_job_page_reloads_itself(
    live_server: Any, browser: Any
) -> None:
    coach = UserFactory(username="coach-nojs", role="coach")
    job = Job.objects.create(
        kind="learners.rescore", requested_by=coach, status=JobStatus.RUNNING, progress=0.2
    )
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": 1280, "height": 900}
    )
    page = context.new_page()
    try:
        signed_in(live_server, page, "coach-nojs")
        page.goto(f"{live_server.url}/dashboard/jobs/{job.pk}/")
        assert page.inner_text("[data-job-progress-text]") == "20%"
        job_progress(job_id=job.pk, progress=0.7)
        page.wait_for_selector("[data-job-progress-text]:has-text('70%')", timeout=10_000)
        screenshot(page, "dashboard-job-no-javascript")
        Job.objects.filter(pk=job.pk).update(status=JobStatus.SUCCEEDED, progress=1.0)
        page.wait_for_selector("[data-job-status]:has-text('Succeeded')", timeout=10_000)
        assert page.locator("meta[http-equiv=refresh]").count() == 0
    finally:
        context.close()
