"""An admin runs a simulation from the dashboard form, watches it finish, reads its results
and compares it with a second run, in a real browser under the real CSP."""

from typing import Any

import pytest

from simulation.models import Simulation
from tests.e2e.conftest import screenshot, sign_in
from tests.factories import CohortFactory, LearnerFactory, UserFactory
from tests.simulation.conftest import counting_kind  # noqa: F401  (the fixture)

pytestmark = [
    pytest.mark.django_db(transaction=True, databases="__all__"),
    pytest.mark.usefixtures("counting_kind"),
]


def _run_from_the_form(page: Any, base_url: str, name: str, seed: str) -> None:
    page.goto(f"{base_url}/dashboard/simulations/")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Cohort").select_option(label="Spring")
    page.get_by_label("Seed").fill(seed)
    page.click("form.simulation-form button[type=submit]")
    page.wait_for_url(f"{base_url}/dashboard/simulations/*/")
    page.wait_for_selector("[data-job-status]:has-text('Succeeded')", timeout=15000)


def test_admin_runs_a_simulation_reads_it_and_compares_two_runs(
    live_server: Any, page: Any, rules_model: Any
) -> None:
    UserFactory(username="lead-e2e", role="admin")
    spring = CohortFactory(name="Spring")
    LearnerFactory(cohort=spring, name="Dana Reyes")
    LearnerFactory(cohort=CohortFactory(name="Autumn"))
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))

    sign_in(page, live_server.url, "lead-e2e")
    page.click("nav a:has-text('Simulations')")
    page.wait_for_url(f"{live_server.url}/dashboard/simulations/")
    page.get_by_label("Model version").fill("999")  # refused by the service, on its field
    page.click("form.simulation-form button[type=submit]")
    page.wait_for_selector("[data-field=model_version] .field-error")
    assert "No risk model of this version." in page.inner_text(
        "[data-field=model_version] .field-error"
    )
    screenshot(page, "simulations-form-error")

    _run_from_the_form(page, live_server.url, "First look", "1")
    assert "Dana Reyes" in page.inner_text("table.result-table")
    assert page.locator("table.result-table tbody tr").count() == 1
    assert "Spring" in page.inner_text("dl.params")
    shot = screenshot(page, "simulation-results")
    assert shot.stat().st_size > 20_000

    LearnerFactory(cohort=spring)
    _run_from_the_form(page, live_server.url, "Second look", "2")
    page.get_by_label("Compare with...").select_option(label="First look")
    page.click("form.compare-with button[type=submit]")
    page.wait_for_selector("table.comparison")
    figures = page.inner_text("table.comparison")
    assert "Learners" in figures and "-1" in figures  # A: this run (2), B: the first (1)
    assert "Seed" in page.inner_text("table.param-differences")
    shot = screenshot(page, "simulations-compare")
    assert shot.stat().st_size > 20_000

    page.click("text=All simulations")
    assert page.locator("table.simulations tbody tr").count() == Simulation.objects.count() == 2
    screenshot(page, "simulations-list")
    assert not [text for text in console if "Content Security Policy" in text]
