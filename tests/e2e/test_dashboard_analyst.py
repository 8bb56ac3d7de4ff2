"""An analyst walks the whole dashboard in a real browser and never meets personal data.

Every personal field holds a planted marker (name, email, external id, source, event source
ids and metadata, feedback and coach notes, an imported file's name and refused lines); the
analyst signs in through the form, visits every page the navigation leads to (and the pages
behind them: a learner, a risk model, a job), downloads the caseload and analytics CSVs, and
the marker appears in no page's text, no HTML source and no CSV.
"""

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from analytics.services import snapshots_backfill
from engagement.models import Job, JobStatus
from learners.models import ImportUpload, Learner
from learners.risk.feedback import risk_feedback_create
from learners.risk.services import learners_rescore
from learners.services import coach_note_create
from tests.e2e.conftest import screenshot, sign_in
from tests.factories import ActivityEventFactory, CohortFactory, LearnerFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")

MARKER = "zqsweepmark"
ANALYTICS_CSVS = ("caseloads", "attention", "cohorts", "engagement-trend", "risk-trend")


def _plant(admin: Any) -> list[Learner]:
    """Learners at high and low risk with the marker in every personal field, marked and noted,
    and an import whose file name and refused lines carry it too."""
    now = timezone.now()
    cohort = CohortFactory(name="Sweep cohort")
    for index, days_idle in enumerate((19, 25, 1)):
        learner = LearnerFactory(
            cohort=cohort,
            name=f"Pat {MARKER}{index} Person",
            email=f"{MARKER}{index}@example.org",
            external_id=f"{MARKER}-ext-{index}",
            source=f"{MARKER}-source",
            enrolled_at=now - timedelta(days=50),
        )
        ActivityEventFactory(
            learner=learner,
            source_event_id=f"{MARKER}-event-{index}",
            metadata={"comment": f"{MARKER} said hello", "page": MARKER},
            occurred_at=now - timedelta(days=days_idle),
        )
    learners_rescore()
    learners = list(Learner.objects.filter(cohort=cohort).order_by("external_id"))
    risk_feedback_create(
        actor=admin, learner=learners[0], kind="incorrect", note=f"{MARKER} feedback note"
    )
    coach_note_create(actor=admin, learner=learners[0], body=f"{MARKER} coach note")
    job = Job.objects.create(
        kind="learners.import_upload",
        params={"kind": "learners"},
        requested_by=admin,
        status=JobStatus.SUCCEEDED,
        progress=1.0,
        result={"accepted": 2, "rejected": 1},
    )
    ImportUpload.objects.create(
        kind="learners",
        filename=f"{MARKER}-roster.csv",
        content=b"",
        size=10,
        sha256="0" * 64,
        uploaded_by=admin,
        job=job,
        accepted=2,
        rejected=1,
        refused=f"line,reasons\n3,email: {MARKER}@bad is not valid\n",
    )
    snapshots_backfill(since=(now - timedelta(days=7)).date(), until=now.date())
    return learners


def _assert_clean(page: Any, name: str) -> None:
    assert MARKER not in page.content().lower(), name
    assert MARKER not in page.inner_text("body").lower(), name
    screenshot(page, f"dashboard-analyst-{name}")


def test_an_analyst_sees_no_personal_data_on_any_dashboard_page(
    live_server: Any, page: Any, rules_model: Any
) -> None:
    admin = UserFactory(role="admin")
    analyst = UserFactory(username="analyst-sweep", role="analyst")
    learners = _plant(admin)
    Job.objects.create(
        kind="learners.rescore",
        params={},
        requested_by=analyst,
        status=JobStatus.SUCCEEDED,
        progress=1.0,
        result={"scored": len(learners)},
    )
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    base = live_server.url

    sign_in(page, base, "analyst-sweep")
    _assert_clean(page, "overview")

    nav = [
        link.get_attribute("href")
        for link in page.locator("nav a").all()
        if (link.get_attribute("href") or "").startswith("/dashboard/")
    ]
    for path in ("/dashboard/", "/dashboard/learners/", "/dashboard/cohorts/"):
        assert path in nav
    visited = set()
    for path in dict.fromkeys(nav):
        response = page.goto(f"{base}{path}")
        assert response.status == 200, path
        visited.add(path)
        _assert_clean(page, path.strip("/").replace("/", "-") or "home")

    for query, name in (("?page=1", "learners-page-1"), ("?unattended=true", "learners-filtered")):
        response = page.goto(f"{base}/dashboard/learners/{query}")
        assert response.status == 200, query
        _assert_clean(page, name)
    assert page.locator("tbody tr").count() == 2  # the two idle learners, pseudonymised

    page.locator("tbody tr a").first.click()
    page.wait_for_selector("#risk")
    assert "/dashboard/learners/" in page.url
    _assert_clean(page, "learner")

    response = page.goto(f"{base}/dashboard/risk-models/")
    assert response.status == 200
    _assert_clean(page, "risk-models")
    page.locator("main a[href^='/dashboard/risk-models/']").first.click()
    page.wait_for_load_state()
    assert page.url.rstrip("/").split("/")[-1].isdigit()
    _assert_clean(page, "risk-model")

    response = page.goto(f"{base}/dashboard/jobs/")
    assert response.status == 200
    _assert_clean(page, "jobs")
    page.locator("main a[href^='/dashboard/jobs/']").first.click()
    page.wait_for_load_state()
    _assert_clean(page, "job")

    response = page.goto(f"{base}/dashboard/account/")
    assert response.status == 200
    _assert_clean(page, "account")
    assert {"/dashboard/", "/dashboard/learners/", "/dashboard/cohorts/"} <= visited

    downloads = [
        "/dashboard/learners/export.csv",
        "/dashboard/learners/export.csv?unattended=true",
        *(f"/api/v1/analytics/{table}/?format=csv" for table in ANALYTICS_CSVS),
    ]
    for path in downloads:
        answer = page.request.get(f"{base}{path}")
        assert answer.status == 200, path
        text = answer.text()
        assert text.count("\n") >= 1, path
        assert MARKER not in text.lower(), path
    assert not [text for text in console if "Content Security Policy" in text]
