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


#: A threshold tuning run's results, as the kind writes them.
THRESHOLDS = {
    "model_version": 1,
    "cutoff_days": 28,
    "capacity": 2,
    "cohorts": [],
    "learners": 4,
    "withdrawn": 2,
    "table": [
        {"threshold": t, "flagged": f, "precision": p, "recall": r, "within_capacity": f <= 2}
        for t, f, p, r in ((0.25, 4, 0.5, 1.0), (0.5, 2, 1.0, 1.0), (0.75, 1, 1.0, 0.5))
    ],
    "current": {
        "medium": {"threshold": 0.5, "flagged": 2, "precision": 1.0, "recall": 1.0},
        "high": {"threshold": 0.75, "flagged": 1, "precision": 1.0, "recall": 0.5},
    },
    "suggested": {"threshold": 0.5, "flagged": 2, "precision": 1.0, "recall": 1.0},
}


def _run_from_the_form(page: Any, base_url: str, name: str, seed: str) -> None:
    page.goto(f"{base_url}/dashboard/simulations/?kind=what_if")  # the test kind's name
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
    page.get_by_label("Kind").select_option(label="Counting")
    page.click("text=Show its parameters")
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

    # A threshold tuning run's page leads with its charts and the thresholds in words.
    first = Simulation.objects.get(name="First look")
    Simulation.objects.filter(pk=first.pk).update(kind="thresholds", results=THRESHOLDS)
    page.goto(f"{live_server.url}/dashboard/simulations/{first.pk}/")
    featured = page.locator(".featured-results")
    assert featured.locator("svg.chart").count() == 2
    assert "Suggested threshold for the capacity" in featured.inner_text()
    featured.scroll_into_view_if_needed()
    assert screenshot(page, "simulation-thresholds").stat().st_size > 20_000
    assert not [text for text in console if "Content Security Policy" in text]
