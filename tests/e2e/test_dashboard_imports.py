"""An admin uploads an activity CSV, watches its job finish and downloads the refused lines."""

import csv
from pathlib import Path
from typing import Any

import pytest

from learners.models import ActivityEvent
from tests.e2e.conftest import screenshot, submit_sign_in
from tests.factories import CohortFactory, LearnerFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")

ACTIVITY = (
    "learner_external_id,source,kind,occurred_at,duration_seconds,score,source_event_id\n"
    "e2e-1,lms,login,2026-03-03T10:00:00Z,,,ev-1\n"
    "e2e-1,lms,dancing,2026-03-03T11:00:00Z,,,ev-2\n"
    "e2e-1,lms,lesson_completed,2026-03-04T10:00:00Z,600,,ev-3\n"
    "nobody,lms,login,2026-03-04T10:00:00Z,,,ev-4\n"
    "e2e-1,lms,assessment_submitted,2026-03-05T10:00:00Z,900,0.8,ev-5\n"
)


def test_admin_uploads_activity_and_downloads_the_refused_lines(
    live_server: Any, page: Any, rules_model: Any, tmp_path: Path
) -> None:
    UserFactory(username="admin-e2e", role="admin")
    LearnerFactory(source="lms", external_id="e2e-1", cohort=CohortFactory())
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))

    page.goto(f"{live_server.url}/dashboard/imports/")
    page.wait_for_url(f"{live_server.url}/accounts/login/?next=/dashboard/imports/")
    submit_sign_in(page, "admin-e2e")
    page.wait_for_url(f"{live_server.url}/dashboard/imports/")
    assert page.locator("nav a[aria-current=page]").inner_text() == "Imports"

    # A file without the activity header is refused on the form, with the reason.
    page.select_option("select[name=kind]", "activity")
    page.set_input_files(
        "input[name=file]",
        files=[{"name": "wrong.csv", "mimeType": "text/csv", "buffer": b"name,email\na,b\n"}],
    )
    page.click("form.import-form button[type=submit]")
    page.wait_for_selector(".field-error")
    assert "The header lacks the columns" in page.inner_text(".field-error")
    screenshot(page, "imports-refused-header")

    page.get_by_label("What the file holds").select_option("activity")
    page.get_by_label("CSV file", exact=True).set_input_files(
        files=[{"name": "activity.csv", "mimeType": "text/csv", "buffer": ACTIVITY.encode()}]
    )
    screenshot(page, "imports-form")
    page.click("form.import-form button[type=submit]")
    page.wait_for_url(f"{live_server.url}/dashboard/imports/*/")
    page.wait_for_selector("#job-status:has-text('Succeeded')", timeout=15000)
    assert page.inner_text("#count-accepted") == "3"
    assert page.inner_text("#count-rejected") == "2"
    assert ActivityEvent.objects.count() == 3
    screenshot(page, "imports-finished")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download refused lines (CSV)").click()
    saved = tmp_path / "refused.csv"
    download_info.value.save_as(saved)
    rows = list(csv.reader(saved.open(newline="", encoding="utf-8")))
    assert rows[0] == ["line", "reasons"]
    assert [row[0] for row in rows[1:]] == ["3", "5"]
    assert rows[1][1].startswith("kind:")
    assert "nobody" in rows[2][1]

    page.click("text=All imports")
    page.wait_for_selector("table")
    assert "activity.csv" in page.inner_text("table")
    screenshot(page, "imports-list")
    assert not [text for text in console if "Content Security Policy" in text]
