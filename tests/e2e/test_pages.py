"""The pages a person opens today: Swagger UI and Django admin, under the real CSP."""

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from learners.models import Learner
from learners.risk.services import learners_rescore
from tests.e2e.conftest import PASSWORD, screenshot
from tests.factories import ActivityEventFactory, LearnerFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


def _csp_violations(page: Any) -> list[str]:
    messages: list[str] = []
    page.on("console", lambda message: messages.append(message.text))
    return messages


def _admin_login(page: Any, base_url: str, username: str) -> None:
    """Sign in through the admin's own form and wait for its answer to load.

    The next step reads the answer (or navigates away), so it must not start while the POST
    is still in flight: a check made then sees the form before the error note arrives.
    """
    page.goto(f"{base_url}/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.click("input[type=submit]")


def test_swagger_ui_renders_every_endpoint_without_csp_violations(
    live_server: Any, page: Any
) -> None:
    console = _csp_violations(page)
    page.goto(f"{live_server.url}/api/docs/")
    page.wait_for_selector(".opblock-summary-path", timeout=15000)
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert "/api/v1/learners/" in paths
    assert "/api/v1/events/" in paths
    assert not [text for text in console if "Content Security Policy" in text]
    shot = screenshot(page, "swagger-ui")
    assert shot.stat().st_size > 20_000


def test_admin_login_and_learner_list(live_server: Any, page: Any) -> None:
    UserFactory(username="boss", role="admin")
    LearnerFactory(name="Visible Learner", external_id="vis-1")
    console = _csp_violations(page)
    _admin_login(page, live_server.url, "boss")
    page.goto(f"{live_server.url}/admin/learners/learner/?q=vis-1")
    page.wait_for_selector("#result_list")
    assert "Visible Learner" in page.inner_text("#result_list")
    assert not [text for text in console if "Content Security Policy" in text]
    screenshot(page, "admin-learners")


def test_admin_learner_page_shows_the_current_risk_and_why(
    live_server: Any, page: Any, rules_model: Any
) -> None:
    UserFactory(username="boss", role="admin")
    learner = LearnerFactory(
        name="Drifting Learner",
        external_id="drift-1",
        enrolled_at=timezone.now() - timedelta(days=50),
    )
    ActivityEventFactory(learner=learner, occurred_at=timezone.now() - timedelta(days=19))
    learners_rescore()
    console = _csp_violations(page)
    _admin_login(page, live_server.url, "boss")
    page.goto(f"{live_server.url}/admin/learners/learner/{learner.pk}/change/")
    page.locator(".field-risk_factors").scroll_into_view_if_needed()
    why = page.locator(".field-risk_factors").inner_text()
    assert "No activity for 19 days" in why
    assert page.locator(".field-risk_band").inner_text().strip().endswith("High")
    score = Learner.objects.get(pk=learner.pk).risk_score
    assert page.locator(".field-risk .readonly").inner_text().strip() == f"{score:.2f}"
    assert not [text for text in console if "Content Security Policy" in text]
    shot = screenshot(page, "admin-learner-risk")
    assert shot.stat().st_size > 20_000


def test_coach_cannot_enter_admin(live_server: Any, page: Any) -> None:
    UserFactory(username="coachy", role="coach")
    _admin_login(page, live_server.url, "coachy")
    assert "/admin/login/" in page.url
    expect(page.locator(".errornote")).to_have_count(1)
