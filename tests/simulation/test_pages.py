"""The simulation dashboard pages: the runs list and "New simulation" form, one run with its
results, cancelling, comparing, and the jobs pages' link; each page for each role."""

import uuid
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework import serializers

from engagement.models import Job, JobStatus
from simulation.kinds import KINDS
from simulation.kinds.base import SimulationKind, SimulationParams
from simulation.models import Simulation
from simulation.pages.job_links import simulation_run_links
from simulation.pages.results import TABLE_ROWS, Cell, Reader, section
from simulation.services import simulation_request
from tests.factories import CohortAssignmentFactory, CohortFactory, LearnerFactory, UserFactory
from tests.simulation.conftest import COUNTING

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("counting_kind")]

LIST = "dashboard-simulations"


@pytest.fixture
def world() -> dict[str, Any]:
    mine, other = CohortFactory(name="Mine"), CohortFactory(name="Other cohort")
    coach = UserFactory(role="coach")
    CohortAssignmentFactory(user=coach, cohort=mine)
    return {
        "ann": LearnerFactory(cohort=mine, name="Ann Lee"),
        "bo": LearnerFactory(cohort=other, name="Bo Park"),
        "mine": mine,
        "other": other,
        "coach": coach,
        "admin": UserFactory(role="admin"),
        "analyst": UserFactory(role="analyst"),
    }


def _run(actor: Any, name: str = "", **params: Any) -> Simulation:
    return simulation_request(actor=actor, kind=COUNTING, params=params, name=name, in_process=True)


def _signed_in(client: Any, user: Any) -> Any:
    client.force_login(user)
    return client


def _by_key(response: Any) -> dict[str, Any]:
    """A run page's result sections, featured or generic, by key."""
    return {s.key: s for s in [*response.context["featured"], *response.context["sections"]]}


def _detail(simulation: Simulation) -> str:
    return reverse("dashboard-simulation", args=[simulation.pk])


@pytest.mark.parametrize(
    "url",
    [
        reverse(LIST),
        reverse("dashboard-simulations-compare"),
        reverse("dashboard-simulation", args=["0190a5a0-0000-7000-8000-000000000000"]),
    ],
)
def test_anonymous_visitors_are_sent_to_sign_in(client: Any, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_list_shows_each_role_the_runs_it_may_see(client: Any, world: dict[str, Any]) -> None:
    by_coach = _run(world["coach"], name="Coach run")
    by_admin = _run(world["admin"], name="Admin run")
    for role, expected in (
        ("coach", {by_coach}),
        ("admin", {by_coach, by_admin}),
        ("analyst", {by_coach, by_admin}),
    ):
        page = _signed_in(client, world[role]).get(reverse(LIST))
        assert page.status_code == 200
        assert {str(run.pk) for run in page.context["page"].object_list} == {
            str(run.pk) for run in expected
        }
        assert reverse(LIST) in page.content.decode()  # the "Simulations" nav entry
    coach_page = _signed_in(client, world["coach"]).get(reverse(LIST)).content.decode()
    assert "Coach run" in coach_page and "Admin run" not in coach_page
    assert "Succeeded" in coach_page and "100%" in coach_page


def test_the_form_offers_the_kinds_params_and_only_the_callers_cohorts(
    client: Any, world: dict[str, Any]
) -> None:
    page = _signed_in(client, world["coach"]).get(reverse(LIST), {"kind": COUNTING})
    form = page.context["form"]
    assert {"name", "cohort", "steps", "seed", "model_version"} <= set(form.fields)
    assert [label for _, label in form.fields["cohort"].choices] == ["Choose a cohort", "Mine"]
    assert form.fields["steps"].widget.attrs["placeholder"] == "2"  # the kind's default
    assert 'name="steps"' in page.content.decode() and "Other cohort" not in page.content.decode()


def test_the_form_shows_its_validation_errors_by_field(client: Any, world: dict[str, Any]) -> None:
    client = _signed_in(client, world["admin"])
    bad_input = client.post(reverse(LIST), {"kind": COUNTING, "steps": "0"})
    assert bad_input.status_code == 400
    assert bad_input.context["form"].errors == {
        "steps": ["Ensure this value is greater than or equal to 1."]
    }
    refused = client.post(reverse(LIST), {"kind": COUNTING, "model_version": "999"})
    assert refused.status_code == 400
    assert refused.context["form"].errors == {"model_version": ["No risk model of this version."]}
    assert "No risk model of this version." in refused.content.decode()
    not_mine = _signed_in(client, world["coach"]).post(
        reverse(LIST), {"kind": COUNTING, "cohort": str(world["other"].pk)}
    )
    assert not_mine.status_code == 400 and "cohort" in not_mine.context["form"].errors
    unknown = client.post(reverse(LIST), {"kind": "guess"})
    assert unknown.status_code == 400
    assert not Simulation.objects.exists()


def test_the_form_creates_a_run_and_leads_to_its_page(
    client: Any, world: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    client = _signed_in(client, world["coach"])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse(LIST),
            {"kind": COUNTING, "name": "Mine only", "cohort": str(world["mine"].pk), "seed": "5"},
        )
    simulation = Simulation.objects.get()
    assert response.status_code == 302 and response["Location"] == _detail(simulation)
    assert simulation.name == "Mine only" and simulation.requested_by == world["coach"]
    assert simulation.params["cohort"] == str(world["mine"].pk) and simulation.seed == 5
    assert simulation.params["steps"] == 2  # left empty: the kind's default
    page = client.get(_detail(simulation))
    assert page.context["job"].status == JobStatus.SUCCEEDED
    body = page.content.decode()
    assert "Mine only" in body and "Ann Lee" in body and "Mine" in body


def test_a_queued_run_refreshes_and_its_requester_cancels_it(
    client: Any, world: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=False):
        queued = simulation_request(actor=world["coach"], kind=COUNTING, params={})
    client = _signed_in(client, world["coach"])
    page = client.get(_detail(queued)).content.decode()
    assert "data-job-poll" in page and "dashboard/jobs.js" in page
    assert '<noscript><meta http-equiv="refresh" content="2"></noscript>' in page
    assert reverse("dashboard-simulation-cancel", args=[queued.pk]) in page
    assert client.get(reverse("dashboard-simulation-cancel", args=[queued.pk])).status_code == 405
    response = client.post(reverse("dashboard-simulation-cancel", args=[queued.pk]))
    assert response.status_code == 302 and response["Location"] == _detail(queued)
    queued.job.refresh_from_db()
    assert queued.job.status == JobStatus.CANCELLED
    again = client.post(reverse("dashboard-simulation-cancel", args=[queued.pk]), follow=True)
    assert "already finished" in again.content.decode()


def test_only_the_requester_or_an_admin_cancels(
    client: Any, world: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=False):
        queued = simulation_request(actor=world["admin"], kind=COUNTING, params={})
    url = reverse("dashboard-simulation-cancel", args=[queued.pk])
    analyst_page = _signed_in(client, world["analyst"]).get(_detail(queued)).content.decode()
    assert url not in analyst_page
    assert _signed_in(client, world["analyst"]).post(url).status_code == 403
    assert _signed_in(client, world["coach"]).post(url).status_code == 404
    queued.job.refresh_from_db()
    assert queued.job.status == JobStatus.QUEUED


def test_a_coach_opens_only_their_own_runs(client: Any, world: dict[str, Any]) -> None:
    by_admin = _run(world["admin"])
    assert _signed_in(client, world["coach"]).get(_detail(by_admin)).status_code == 404
    assert _signed_in(client, world["analyst"]).get(_detail(by_admin)).status_code == 200


def test_learner_rows_are_labelled_and_linked_for_staff_and_absent_for_analysts(
    client: Any, world: dict[str, Any]
) -> None:
    simulation = _run(world["admin"])
    admin_page = _signed_in(client, world["admin"]).get(_detail(simulation)).content.decode()
    ann = world["ann"]
    assert "Ann Lee" in admin_page and "Bo Park" in admin_page
    assert reverse("dashboard-learner", args=[ann.pk]) in admin_page
    analyst = _signed_in(client, world["analyst"]).get(_detail(simulation))
    body = analyst.content.decode()
    assert "rows" not in _by_key(analyst)
    assert "Ann Lee" not in body and str(ann.pk) not in body
    assert "Draw" in body and "Learners" in body  # the aggregates and the headline


def test_the_results_render_tables_definition_lists_and_charts(
    client: Any, world: dict[str, Any]
) -> None:
    simulation = _run(world["admin"])
    Simulation.objects.filter(pk=simulation.pk).update(
        results={
            **(simulation.results or {}),
            "weeks": [
                {"week": 1, "precision": 0.5, "recall": 0.25},
                {"week": 2, "precision": 0.75, "recall": 0.5},
            ],
            "band_changes": {"low": {"medium": 3, "high": 1}, "medium": {"high": 2}},
            "per_cohort": {str(world["mine"].pk): {"learners": 2, "mean_change": 0.125}},
            "cohorts": [
                {"cohort_id": str(world["mine"].pk), "learners": 2},
                {"cohort_id": str(world["other"].pk), "learners": 1},
            ],
            "distribution": {"before": [1, 4, 2], "after": [2, 3, 2]},
        }
    )
    page = _signed_in(client, world["admin"]).get(_detail(simulation))
    sections = _by_key(page)
    assert sections["weeks"].chart is not None and sections["distribution"].chart is not None
    assert sections["band_changes"].tables[0].columns == ["", "Medium", "High"]
    body = page.content.decode()
    assert sections["distribution"].tables[0].columns == ["#", "Before", "After"]
    assert sections["per_cohort"].chart is None  # figures of different kinds: a table only
    assert sections["per_cohort"].tables[0].rows[0][0].text == "Mine"  # cohorts by name
    assert sections["cohorts"].tables[0].rows[0][0].text == "Mine"
    assert 'data-label="Mine"' in str(sections["cohorts"].chart)
    assert body.count('<svg xmlns="http://www.w3.org/2000/svg" class="chart"') == 4
    assert "Low → Medium" in body and "0.125" in body


def test_compare_shows_two_runs_side_by_side(client: Any, world: dict[str, Any]) -> None:
    a = _run(world["admin"], name="First", seed=1)
    LearnerFactory(cohort=world["mine"])
    b = _run(world["admin"], name="Second", seed=2)
    client = _signed_in(client, world["admin"])
    assert f'value="{b.pk}"' in client.get(_detail(a)).content.decode()  # "Compare with..."
    page = client.get(reverse("dashboard-simulations-compare"), {"a": str(a.pk), "b": str(b.pk)})
    assert page.status_code == 200
    figures = {name: (x.text, y.text, d.text) for name, x, y, d in page.context["figures"]}
    assert figures["Learners"] == ("2", "3", "1")
    assert [(name, x.text, y.text) for name, x, y in page.context["params"]] == [("Seed", "1", "2")]
    picker = client.get(reverse("dashboard-simulations-compare"), {"a": str(a.pk)})
    assert picker.status_code == 200 and "comparison" not in picker.context


@pytest.fixture
def other_kind(monkeypatch: pytest.MonkeyPatch) -> Iterator[SimulationKind]:
    """A second kind (a run of it is not comparable with a counting run)."""
    kind = SimulationKind(
        name="backtest",
        label="Other kind",
        params=SimulationParams,
        run=lambda params, context: {"weeks": 1},
        headline=lambda results: {"weeks": results["weeks"]},
    )
    monkeypatch.setitem(KINDS, kind.name, kind)
    yield kind


def test_compare_errors(client: Any, world: dict[str, Any], other_kind: SimulationKind) -> None:
    a = _run(world["admin"])
    other = simulation_request(
        actor=world["admin"], kind=other_kind.name, params={}, in_process=True
    )
    compare = reverse("dashboard-simulations-compare")
    client = _signed_in(client, world["admin"])
    mixed = client.get(compare, {"a": str(a.pk), "b": str(other.pk)})
    assert mixed.status_code == 400 and "same kind" in mixed.content.decode()
    missing = client.get(compare, {"a": str(a.pk), "b": "not-an-id"})
    assert missing.status_code == 404
    coach = _signed_in(client, world["coach"]).get(compare, {"a": str(a.pk), "b": str(a.pk)})
    assert coach.status_code == 404


def test_the_list_takes_the_same_queries_for_few_runs_or_many(
    client: Any, world: dict[str, Any]
) -> None:
    client = _signed_in(client, world["admin"])
    counts = []
    for runs in (2, 8):
        while Simulation.objects.count() < runs:
            _run(world["coach" if Simulation.objects.count() % 2 else "admin"])
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse(LIST)).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_a_runs_page_takes_the_same_queries_for_few_learner_rows_or_many(
    client: Any, world: dict[str, Any]
) -> None:
    few = _run(world["admin"])
    for _ in range(10):
        LearnerFactory(cohort=world["mine"])
    many = _run(world["admin"])
    client = _signed_in(client, world["admin"])
    counts = []
    for simulation in (few, many):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(_detail(simulation)).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_the_job_page_links_to_the_run_while_it_runs_and_after(
    client: Any, world: dict[str, Any]
) -> None:
    simulation = _run(world["coach"])
    job_page = reverse("dashboard-job", args=[simulation.job_id])
    signed_in = _signed_in(client, world["coach"])
    assert _detail(simulation) in signed_in.get(job_page).content.decode()
    Job.objects.filter(pk=simulation.job_id).update(status=JobStatus.RUNNING, result=None)
    assert _detail(simulation) in signed_in.get(job_page).content.decode()


def test_the_job_link_is_only_for_who_may_open_the_run(world: dict[str, Any]) -> None:
    simulation = _run(world["coach"])
    job = Job.objects.get(pk=simulation.job_id)
    other_coach = UserFactory(role="coach")
    assert simulation_run_links(job, other_coach) == []
    assert simulation_run_links(job, world["analyst"]) == [
        ("The simulation and its results", _detail(simulation))
    ]
    assert simulation_run_links(Job(kind="simulation.run"), world["admin"]) == []


class ChangesParams(SimulationParams):
    band = serializers.ChoiceField(choices=["low", "medium", "high"], required=False)
    changes = serializers.ListField(child=serializers.DictField(), required=False)
    rules = serializers.ListField(
        child=serializers.ChoiceField(choices=["highest_risk", "highest_uplift"]), required=False
    )


def _record_changes(params: Mapping[str, Any], context: Any) -> dict[str, Any]:
    return {"changes": len(params.get("changes", []))}


@pytest.fixture
def changes_kind(monkeypatch: pytest.MonkeyPatch, counting_kind: SimulationKind) -> SimulationKind:
    """A what-if stand-in with a band and a ``changes`` list (it replaces the counting kind)."""
    kind = SimulationKind(
        name=COUNTING,
        label="What-if",
        params=ChangesParams,
        run=_record_changes,
        headline=lambda results: {"changes": results["changes"]},
    )
    monkeypatch.setitem(KINDS, COUNTING, kind)
    return kind


@pytest.mark.usefixtures("changes_kind")
def test_the_changes_inputs_make_the_what_if_changes_list(
    client: Any, world: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    client = _signed_in(client, world["admin"])
    form_page = client.get(reverse(LIST), {"kind": COUNTING}).content.decode()
    assert 'name="changes-activity_pct"' in form_page and 'name="band"' in form_page
    rules_page = client.get(reverse(LIST), {"kind": "intervention"}).content.decode()
    assert 'type="checkbox" name="rules" value="highest_uplift"' in rules_page
    half_thresholds = client.post(reverse(LIST), {"kind": COUNTING, "changes-medium": "0.3"})
    assert half_thresholds.status_code == 400
    assert "Give both thresholds, or neither." in half_thresholds.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse(LIST),
            {
                "kind": COUNTING,
                "band": "high",
                "changes-activity_pct": "-50",
                "changes-no_activity_days": "14",
                "changes-medium": "0.3",
                "changes-high": "0.6",
                "rules": ["highest_uplift"],
            },
        )
    simulation = Simulation.objects.get()
    assert simulation.params["band"] == "high"
    assert simulation.params["rules"] == ["highest_uplift"]
    assert simulation.params["changes"] == [
        {"kind": "activity_pct", "value": -50.0},
        {"kind": "no_activity_days", "value": 14},
        {"kind": "thresholds", "medium": 0.3, "high": 0.6},
    ]
    assert simulation.results == {"changes": 3}


def test_the_generic_renderer_reads_each_kinds_shapes() -> None:
    rules = section(
        "rules",
        [
            # as PostgreSQL's jsonb gives them back: keys by length
            {"low": 8, "high": 13, "rule": "highest_risk", "expected": 10.5},
            {"low": 11, "high": 17, "rule": "highest_uplift", "expected": 14.0},
        ],
        reader=Reader(),
    )
    assert rules.chart is not None and "highest_uplift: 14" in rules.chart
    assert rules.tables[0].columns == ["Rule", "Low", "High", "Expected"]
    percentiles = section(
        "high_risk", {"p95": [5, 7], "p5": [1, 2], "p50": [3, 4]}, reader=Reader()
    )
    assert percentiles.chart is not None and percentiles.chart.count("chart-series") == 3
    assert percentiles.tables[0].columns == ["#", "P5", "P50", "P95"]
    bands = section("band_changes", {"high": {"low": 1}, "low": {"high": 2}}, reader=Reader())
    assert [row[0].text for row in bands.tables[0].rows] == ["Low", "High"]
    many = section(
        "learners",
        [
            {"learner_id": str(uuid.UUID(int=n)), "label": f"L{n}", "score": 0.5}
            for n in range(TABLE_ROWS + 5)
        ],
        reader=Reader(learner_links=True),
    )
    table = many.tables[0]
    assert many.chart is None and table.truncated and table.total == TABLE_ROWS + 5
    assert table.columns == ["Learner", "Score"]
    assert table.rows[1][0].url == reverse("dashboard-learner", args=[uuid.UUID(int=1)])
    odd = section("rows", [{"learner_id": "x", "label": "L"}], reader=Reader(learner_links=True))
    assert odd.tables[0].rows[0][0] == Cell("L")


def _kind_results(world: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each kind's results in the shapes the kinds write (a few rows each)."""
    mine, ann = str(world["mine"].pk), str(world["ann"].pk)
    bands = {"high": 1, "medium": 1, "low": 0, "unscored": 0}
    week = {"cohort_id": mine, "as_of": "2026-04-14T00:00:00+00:00", "bands": bands}
    plan = {"picked_by_band": {"high": 10}, "nudged": 10, "behind_best_interval": [0.5, 2.5]}
    return {
        "what_if": {
            "learners": 2,
            "max_abs_score_change": 0.25,
            "mean_score_before": 0.5,
            "mean_score_after": 0.625,
            "bands_before": {"high": 0, "medium": 1, "low": 1},
            "bands_after": {"high": 1, "medium": 1, "low": 0},
            "band_changes": [
                {"from": old, "to": new, "learners": int(old != new)}
                for old, new in (("low", "medium"), ("medium", "high"), ("high", "high"))
            ],
            "band_changes_by_pair": {"low→medium": 1, "medium→high": 1},
            "distribution": {"edges": [0.0, 0.5, 1.0], "before": [1, 1], "after": [0, 2]},
            "cohorts": [
                {
                    "cohort_id": mine,
                    "cohort": "Mine",
                    "learners": 2,
                    "mean_score_before": 0.5,
                    "mean_score_after": 0.625,
                    "bands_before": {"high": 0, "medium": 1},
                    "bands_after": {"high": 1, "medium": 1},
                }
            ],
            "crossings_total": 2,
            "crossings": [{"learner_id": ann, "cohort_id": mine, "from": "low", "to": "medium"}],
            "unscored": 0,
            "model_version": 1,
        },
        "backtest": {
            "model_version": 1,
            "learners": 2,
            "withdrawn": 1,
            "weeks": [
                {**week, "week": n, "mean_score": 0.5, "precision": p, "recall": r}
                | {"flagged": 1, "withdrew_later": 1, "learners": 2}
                for n, p, r in ((1, 0.5, 0.25), (2, 1.0, 0.5))
            ],
            "lead_time": {
                "counts": {"2": 1, "10": 3},
                "mean": 8.0,
                "median": 10.0,
                "caught_share": 0.75,
                "never_flagged_share": 0.25,
            },
            "withdrawals": [{"learner_id": ann, "cohort_id": mine, "lead_weeks": 2}],
        },
        "projection": {
            "learners": 2,
            "weeks": 2,
            "runs": 10,
            "seed": 1,
            "model_version": 1,
            "thresholds": {"medium": 0.5, "high": 0.75},
            "start": {"bands": bands, "distribution": [1, 1]},
            "distribution_edges": [0.0, 0.5, 1.0],
            "per_week": [
                {
                    "week": n,
                    "high": {"mean": n + 0.5, "p5": n - 1, "p25": n, "p50": n, "p75": n + 1}
                    | {"p95": n + 2},
                    "medium": {"mean": 1.0, "p5": 0, "p25": 1, "p50": 1, "p75": 1, "p95": 2},
                }
                for n in (1, 2)
            ],
            "final_distribution": [0.5, 1.5],
        },
        "intervention": {
            "learners": 2,
            "opted_out": 0,
            "budget": 10,
            "weeks": 2,
            "draws": 100,
            "uplift": {
                "high": {"value": 0.04, "low": 0.01, "high": 0.07, "source": "assumed", "n": 0},
                "medium": {"value": 0.1, "low": 0.05, "high": 0.15, "source": "measured"}
                | {"n": 40},
            },
            "rules": {
                "highest_risk": {**plan, "expected": 1.5, "interval": [1.0, 2.0]}
                | {"behind_best": 1.5, "weeks": [{"week": 1, "expected": 0.75}]},
                "highest_uplift": {**plan, "expected": 3.0, "interval": [2.0, 4.0]}
                | {"behind_best": 0.0, "weeks": [{"week": 1, "expected": 1.5}]},
            },
            "best_rule": "highest_uplift",
            "best_margin": 1.5,
            "picked": [{"rule": "highest_uplift", "learner_id": ann, "cohort_id": mine}],
        },
        "thresholds": {
            "model_version": 1,
            "cutoff_days": 28,
            "capacity": 1,
            "cohorts": [mine],
            "learners": 2,
            "withdrawn": 1,
            "table": [
                {"threshold": t, "flagged": f, "precision": p, "recall": 1.0}
                | {"within_capacity": f <= 1}
                for t, f, p in ((0.25, 2, 0.5), (0.75, 1, 1.0))
            ],
            "current": {
                band: {"threshold": t, "flagged": 1, "precision": 1.0, "recall": 1.0}
                for band, t in (("medium", 0.5), ("high", 0.75))
            },
            "suggested": {"threshold": 0.75, "flagged": 1, "precision": 1.0, "recall": 1.0},
        },
    }


#: Per kind: the sections shown first, and words each page must say.
FEATURED_PAGES = {
    "what_if": (
        ["band_changes", "distribution", "cohorts"],
        ["Band changes (from → to)", "Shift of the score distribution", "Biggest score change"],
    ),
    "backtest": (
        ["lead_time", "weeks"],
        ["Withdrawals flagged in time", "75 %", "Mine: precision and recall by week"],
    ),
    "projection": (
        ["per_week", "final_distribution"],
        ["High-risk learners per week: percentiles over the runs", "95th percentile"],
    ),
    "intervention": (
        ["rules", "uplift"],
        ["Highest expected uplift", "assumed: no experiment has measured it yet", "2 to 4"],
    ),
    "thresholds": (
        ["table"],
        ["Suggested threshold for the capacity", "Coach capacity", "Precision and recall by"],
    ),
}


@pytest.mark.parametrize("kind", list(FEATURED_PAGES))
def test_each_kinds_page_leads_with_its_questions_answers(
    client: Any, world: dict[str, Any], kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from simulation.kinds import what_if

    monkeypatch.setitem(KINDS, "what_if", what_if.KIND)
    simulation = _run(world["admin"])
    results = _kind_results(world)[kind]
    Simulation.objects.filter(pk=simulation.pk).update(kind=kind, results=results)
    keys, words = FEATURED_PAGES[kind]
    admin = _signed_in(client, world["admin"]).get(_detail(simulation))
    featured = [section.key for section in admin.context["featured"]]
    learner_key = {"what_if": "crossings", "backtest": "withdrawals", "intervention": "picked"}
    assert featured == keys + ([learner_key[kind]] if kind in learner_key else [])
    body = admin.content.decode()
    assert all(word in body for word in words), [w for w in words if w not in body]
    assert "<svg" in body and ("Ann Lee" in body) == (kind in learner_key)
    generic = {section.key for section in admin.context["sections"]}
    assert not generic & set(keys)  # each result key shown once
    analyst = _signed_in(client, world["analyst"]).get(_detail(simulation))
    assert [section.key for section in analyst.context["featured"]] == keys
    assert "Ann Lee" not in analyst.content.decode()


def test_a_refused_change_shows_on_the_input_that_made_it(
    client: Any, world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from simulation.kinds import what_if

    monkeypatch.setitem(KINDS, "what_if", what_if.KIND)
    client = _signed_in(client, world["admin"])
    page = client.post(
        reverse(LIST),
        {"kind": "what_if", "changes-no_activity_days": "3", "changes-assessment_points": "900"},
    )
    assert page.status_code == 400
    changes = page.context["form"].changes_form
    assert changes.errors == {"assessment_points": ["Must be from -100 to 100."]}
    thresholds = client.post(
        reverse(LIST), {"kind": "what_if", "changes-medium": "0.9", "changes-high": "0.2"}
    )
    assert "high" in thresholds.context["form"].changes_form.errors
