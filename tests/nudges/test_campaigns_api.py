"""``/api/v1/campaigns/``: create, list, detail, preview and run, by role and scope."""

from typing import Any

import pytest
from rest_framework.test import APIClient

from engagement.models import AuditEvent, Job, JobStatus, Role
from nudges.campaigns import campaign_automations_run
from nudges.models import Campaign, Experiment, Nudge, NudgeSource, NudgeStatus
from tests.factories import CohortAssignmentFactory, CohortFactory, LearnerFactory, UserFactory
from tests.nudges import campaigns_fakes
from tests.nudges.campaigns_factories import scored_learner
from tests.nudges.campaigns_fakes import Fakes

pytestmark = pytest.mark.django_db

URL = "/api/v1/campaigns/"


fakes = campaigns_fakes.fakes
one_thread = campaigns_fakes.one_thread


@pytest.fixture
def cohort() -> Any:
    return CohortFactory()


@pytest.fixture
def coach(cohort: Any) -> Any:
    coach = UserFactory(role=Role.COACH)
    CohortAssignmentFactory(user=coach, cohort=cohort)
    return coach


def _client(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _body(cohort: Any, **fields: Any) -> dict[str, Any]:
    return {
        "name": "Back on track",
        "cohorts": [str(cohort.pk)],
        "min_band": "high",
        "inactive_days": 7,
        "channel": "email",
        "approval": "review",
        **fields,
    }


def test_an_admin_creates_a_campaign_and_it_is_audited(user: Any, cohort: Any) -> None:
    response = _client(user).post(URL, _body(cohort, not_nudged_days=14), format="json")

    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["cohorts"] == [str(cohort.pk)]
    assert (data["min_band"], data["inactive_days"], data["not_nudged_days"]) == ("high", 7, 14)
    assert (data["approval"], data["schedule"], data["prompt_key"]) == ("review", "", "")
    assert data["nudges"]["draft"] == 0
    assert AuditEvent.objects.filter(action="campaign.create", target_id=data["id"]).exists()


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"min_band": "extreme"}, "min_band"),
        ({"inactive_days": -1}, "inactive_days"),
        ({"channel": "sms"}, "channel"),
        ({"approval": "maybe"}, "approval"),
        ({"schedule": "hourly"}, "schedule"),
        ({"cohorts": ["not-a-uuid"]}, "cohorts"),
        ({"cohorts": ["01890a5d-ac96-774b-bcce-b302099a8057"]}, "cohorts"),
        ({"learner_ids": ["01890a5d-ac96-774b-bcce-b302099a8057"]}, "learner_ids"),
        ({"prompt_key": "nowhere"}, "prompt_key"),
        ({"name": 12}, "name"),
        ({"exclude_not_applicable": "yes"}, "exclude_not_applicable"),
    ],
)
def test_bad_input_is_refused_naming_the_field(
    user: Any, cohort: Any, fields: dict[str, Any], field: str
) -> None:
    response = _client(user).post(URL, _body(cohort, **fields), format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert not Campaign.objects.exists()


def test_a_prompt_key_and_an_experiment_together_are_refused(user: Any, cohort: Any) -> None:
    # The shipped prompt (migration 0002) is the one named.
    experiment = Experiment.objects.create(name="Tone")

    response = _client(user).post(
        URL, _body(cohort, prompt_key="reengage", experiment=str(experiment.pk)), format="json"
    )

    assert response.status_code == 400
    assert "experiment" in response.json()


def test_a_coach_campaign_stays_within_the_coach_cohorts(coach: Any, cohort: Any) -> None:
    other = CohortFactory()
    outsider = LearnerFactory(cohort=other)
    client = _client(coach)

    mine = client.post(URL, _body(cohort, cohorts=[]), format="json")
    theirs = client.post(URL, _body(cohort, cohorts=[str(other.pk)]), format="json")
    chosen = client.post(URL, _body(cohort, learner_ids=[str(outsider.pk)]), format="json")

    assert mine.status_code == 201
    assert mine.json()["cohorts"] == [str(cohort.pk)]  # none named: the coach's own
    assert theirs.status_code == 400
    assert theirs.json() == {"cohorts": ["No cohort with this id."]}
    assert chosen.status_code == 400
    assert list(chosen.json()) == ["learner_ids"]


@pytest.mark.parametrize("status", [Experiment.Status.RUNNING, Experiment.Status.STOPPED, None])
def test_an_experiment_a_coach_cannot_see_is_one_answer_whatever_it_is(
    coach: Any, cohort: Any, status: str | None
) -> None:
    """Running, stopped or absent: a coach learns nothing of another cohort's experiment."""
    unseen = "01890a5d-ac96-774b-bcce-b302099a8057"
    if status is not None:
        experiment = Experiment.objects.create(name="Theirs", status=status)
        elsewhere = Campaign.objects.create(
            name="Elsewhere", channel="email", experiment=experiment
        )
        elsewhere.cohorts.add(CohortFactory().pk)
        unseen = str(experiment.pk)

    response = _client(coach).post(URL, _body(cohort, experiment=unseen), format="json")

    assert response.status_code == 400
    assert response.json() == {"experiment": ["No experiment with this id."]}


def test_coaches_see_only_campaigns_within_their_cohorts(
    user: Any, coach: Any, cohort: Any
) -> None:
    admin = _client(user)
    inside = admin.post(URL, _body(cohort), format="json").json()
    outside = admin.post(URL, _body(CohortFactory()), format="json").json()
    everywhere = admin.post(URL, _body(cohort, cohorts=[]), format="json").json()
    client = _client(coach)

    listed = [row["id"] for row in client.get(URL).json()["results"]]

    assert listed == [inside["id"]]
    assert client.get(f"{URL}{outside['id']}/").status_code == 404
    assert client.get(f"{URL}{everywhere['id']}/").status_code == 404
    assert client.post(f"{URL}{outside['id']}/run/").status_code == 404
    assert len(admin.get(URL).json()["results"]) == 3


def test_analysts_read_counts_but_cannot_create_preview_or_run(user: Any, cohort: Any) -> None:
    campaign = _client(user).post(URL, _body(cohort), format="json").json()
    analyst = _client(UserFactory(role=Role.ANALYST))

    assert analyst.get(f"{URL}{campaign['id']}/").status_code == 200
    assert analyst.post(URL, _body(cohort), format="json").status_code == 403
    assert analyst.post(f"{URL}{campaign['id']}/preview/").status_code == 403
    assert analyst.post(f"{URL}{campaign['id']}/run/").status_code == 403


def test_the_list_counts_nudges_in_a_constant_number_of_queries(
    user: Any, cohort: Any, django_assert_num_queries: Any
) -> None:
    client = _client(user)
    learner = scored_learner(cohort)

    def add_campaign() -> None:
        campaign = Campaign.objects.get(
            pk=client.post(URL, _body(cohort), format="json").json()["id"]
        )
        Nudge.objects.create(
            learner=learner,
            campaign=campaign,
            channel="email",
            source=NudgeSource.TEMPLATE,
            body="Hello",
            status=NudgeStatus.SENT,
        )

    add_campaign()
    # count, page of campaigns, their cohorts, their nudges counted
    with django_assert_num_queries(4):
        client.get(URL)
    for _ in range(5):
        add_campaign()
    with django_assert_num_queries(4):
        rows = client.get(URL).json()["results"]

    assert [row["nudges"]["sent"] for row in rows] == [1] * 6


def test_a_preview_counts_and_samples_and_stores_nothing(
    coach: Any, cohort: Any, fakes: Fakes
) -> None:
    for _ in range(4):
        scored_learner(cohort, band="high", inactive_days=10)
    scored_learner(cohort, band="low", inactive_days=10)
    client = _client(coach)
    campaign = client.post(URL, _body(cohort), format="json").json()

    response = client.post(f"{URL}{campaign['id']}/preview/", {"sample": 2}, format="json")

    assert response.status_code == 200
    data = response.json()
    assert (data["count"], data["holdout"], len(data["sample"])) == (4, 0, 2)
    assert data["sample"][0]["body"] == "Hello, a short lesson today keeps you on track."
    assert data["sample"][0]["source"] == "template"
    assert not Nudge.objects.exists()
    refused = client.post(f"{URL}{campaign['id']}/preview/", {"sample": 99}, format="json")
    assert refused.status_code == 400
    assert "sample" in refused.json()


def test_a_run_answers_202_with_the_job_which_then_writes_the_drafts(
    coach: Any, cohort: Any, fakes: Fakes, django_capture_on_commit_callbacks: Any
) -> None:
    learners = [scored_learner(cohort) for _ in range(3)]
    client = _client(coach)
    campaign = client.post(URL, _body(cohort), format="json").json()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"{URL}{campaign['id']}/run/")

    assert response.status_code == 202
    body = response.json()
    assert body["kind"] == "nudges.campaign_run"
    assert response["Location"].endswith(f"/api/v1/jobs/{body['id']}/")
    job = Job.objects.get(pk=body["id"])
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.requested_by == coach
    nudged = set(Nudge.objects.filter(campaign_id=campaign["id"]).values_list("learner", flat=True))
    assert nudged == {learner.pk for learner in learners}
    detail = client.get(f"{URL}{campaign['id']}/").json()
    assert detail["nudges"]["draft"] == 3
    assert detail["last_run_at"] is not None


def test_the_admin_lists_campaigns_and_runs_the_selected_ones(
    client: Any, cohort: Any, fakes: Fakes, django_capture_on_commit_callbacks: Any
) -> None:
    user = UserFactory(role=Role.ADMIN)
    scored_learner(cohort)
    campaign = _client(user).post(URL, _body(cohort), format="json").json()
    client.force_login(user)

    assert client.get("/admin/nudges/campaign/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/nudges/campaign/", {"action": "run", "_selected_action": [campaign["id"]]}
        )

    assert response.status_code == 302
    job = Job.objects.get(kind="nudges.campaign_run")
    assert (job.status, job.requested_by) == (JobStatus.SUCCEEDED, user)
    assert Nudge.objects.filter(campaign_id=campaign["id"]).count() == 1


def test_a_coach_stops_an_automation_which_then_neither_runs_nor_is_scheduled(
    user: Any, coach: Any, cohort: Any
) -> None:
    campaign = _client(coach).post(URL, _body(cohort, schedule="daily"), format="json").json()
    client = _client(coach)

    stopped = client.post(f"{URL}{campaign['id']}/deactivate/")

    assert stopped.status_code == 200, stopped.json()
    assert stopped.json()["is_active"] is False
    assert client.post(f"{URL}{campaign['id']}/run/").status_code == 409
    assert campaign_automations_run() == []
    assert (
        AuditEvent.objects.filter(action="campaign.deactivate", target_id=campaign["id"]).count()
        == 1
    )
    assert client.post(f"{URL}{campaign['id']}/deactivate/").status_code == 200  # already stopped
    assert AuditEvent.objects.filter(action="campaign.deactivate").count() == 1

    started = client.post(f"{URL}{campaign['id']}/activate/")

    assert (started.status_code, started.json()["is_active"]) == (200, True)
    assert AuditEvent.objects.filter(action="campaign.activate", target_id=campaign["id"]).exists()


def test_only_admins_and_coaches_in_scope_stop_a_campaign(
    user: Any, coach: Any, cohort: Any
) -> None:
    outside = _client(user).post(URL, _body(CohortFactory()), format="json").json()
    inside = _client(user).post(URL, _body(cohort), format="json").json()

    assert _client(coach).post(f"{URL}{outside['id']}/deactivate/").status_code == 404
    analyst = _client(UserFactory(role=Role.ANALYST))
    assert analyst.post(f"{URL}{inside['id']}/deactivate/").status_code == 403
    assert APIClient().post(f"{URL}{inside['id']}/deactivate/").status_code == 401
    assert Campaign.objects.filter(is_active=True).count() == 2


def test_the_admin_stops_and_starts_the_selected_campaigns(client: Any, cohort: Any) -> None:
    user = UserFactory(role=Role.ADMIN)
    campaign = _client(user).post(URL, _body(cohort), format="json").json()
    client.force_login(user)

    for action, active in (("deactivate", False), ("activate", True)):
        response = client.post(
            "/admin/nudges/campaign/", {"action": action, "_selected_action": [campaign["id"]]}
        )
        assert response.status_code == 302
        assert Campaign.objects.get(pk=campaign["id"]).is_active is active
