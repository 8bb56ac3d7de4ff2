"""An admin compares a trained version with the naive baselines and activates it, in a real
browser under the real CSP."""

from typing import Any

import pytest

from learners.models import RiskModel
from tests.e2e.conftest import screenshot, sign_in
from tests.factories import UserFactory
from tests.learners.pages.risk_model_data import trained_logistic

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


def test_admin_compares_a_version_with_the_baselines_and_activates_it(
    live_server: Any, page: Any, rules_model: RiskModel
) -> None:
    UserFactory(username="boss-e2e", role="admin")
    trained_logistic(2)
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))

    sign_in(page, live_server.url, "boss-e2e")
    page.click("nav a:has-text('Risk models')")
    page.wait_for_url(f"{live_server.url}/dashboard/risk-models/")
    assert "not evaluated" in page.inner_text("table.risk-models")
    screenshot(page, "risk-models-list")

    page.click("a:has-text('v2')")
    page.wait_for_selector("table.comparison")
    comparison = page.inner_text("table.comparison")
    assert "Baseline: fewest events since enrolment" in comparison
    assert "best" in comparison
    assert page.locator("#calibration-heading ~ figure svg[role=img]").count() == 1
    page.click("summary:has-text('Calibration data')")
    assert page.locator("table.calibration tbody tr").count() == 10
    screenshot(page, "risk-model-detail")

    page.click("button:has-text('Activate v2')")
    page.wait_for_selector(".message:has-text('Risk model v2 is active.')")
    assert page.locator("h1 .badge").inner_text() == "active"
    assert "Live risk of learners studying" in page.content()
    assert RiskModel.objects.get(is_active=True).version == 2
    assert not [text for text in console if "Content Security Policy" in text]
    screenshot(page, "risk-model-activated")
