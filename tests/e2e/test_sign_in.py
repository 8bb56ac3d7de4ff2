"""Signing in through the project's own page, in a real browser under the real CSP."""

from typing import Any

import pytest

from tests.e2e.conftest import screenshot
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


def test_home_leads_to_sign_in_and_then_to_the_dashboard(live_server: Any, page: Any) -> None:
    UserFactory(username="coach-e2e", role="coach")
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    page.goto(f"{live_server.url}/")
    page.wait_for_selector("form button[type=submit]")
    assert page.url.startswith(f"{live_server.url}/accounts/login/")
    screenshot(page, "sign-in")
    page.fill("input[name=username]", "coach-e2e")
    page.fill("input[name=password]", "wrong")
    page.click("button[type=submit]")
    assert "correct username and password" in page.inner_text("[role=alert]")
    page.fill("input[name=password]", "a-Strong-pass-123")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/dashboard/")
    assert page.locator("nav a[aria-current=page]").inner_text() == "Overview"
    screenshot(page, "dashboard-signed-in")
    page.click("form[action='/accounts/logout/'] button[type=submit]")
    page.wait_for_selector("h1:has-text('Signed out')")
    page.goto(f"{live_server.url}/api/v1/learners/")
    assert "Sign in" in page.content()
    assert not [text for text in console if "Content Security Policy" in text]
