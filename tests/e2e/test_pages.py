"""The pages a person opens today: Swagger UI and Django admin, under the real CSP."""

from typing import Any

import pytest

from tests.e2e.conftest import screenshot
from tests.factories import LearnerFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _csp_violations(page: Any) -> list[str]:
    messages: list[str] = []
    page.on("console", lambda message: messages.append(message.text))
    return messages


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
    page.goto(f"{live_server.url}/admin/")
    page.fill("#id_username", "boss")
    page.fill("#id_password", "a-Strong-pass-123")
    page.click("input[type=submit]")
    page.goto(f"{live_server.url}/admin/learners/learner/?q=vis-1")
    page.wait_for_selector("#result_list")
    assert "Visible Learner" in page.inner_text("#result_list")
    assert not [text for text in console if "Content Security Policy" in text]
    screenshot(page, "admin-learners")


def test_coach_cannot_enter_admin(live_server: Any, page: Any) -> None:
    UserFactory(username="coachy", role="coach")
    page.goto(f"{live_server.url}/admin/")
    page.fill("#id_username", "coachy")
    page.fill("#id_password", "a-Strong-pass-123")
    page.click("input[type=submit]")
    assert "/admin/login/" in page.url
    assert page.locator(".errornote").count() == 1
