"""/dashboard/campaigns/: list, create form, preview, run (through nudges.campaigns), and the
caseload's "Start a campaign" bulk action."""

import uuid
from types import SimpleNamespace
from typing import Any

import pytest
from rest_framework.test import APIClient

from engagement.models import AuditEvent, Job, Role
from nudges.models import Campaign, Experiment, Nudge, NudgeSource, NudgeStatus
from nudges.pages.job_links import campaign_run_links
from tests.factories import UserFactory
from tests.nudges.pages_factories import (
    Calls,
    World,
    client_for,
    make_world,
    nudge,
    service_module,
)

pytestmark = pytest.mark.django_db

URL = "/dashboard/campaigns/"


@pytest.fixture
def world(db: None) -> World:
    return make_world()


def _create(**kwargs: Any) -> Campaign:
    """What campaign_create does, as far as the pages see it: a stored campaign."""
    campaign = Campaign.objects.create(
        name=kwargs["name"],
        learner_ids=[str(learner_id) for learner_id in kwargs.get("learner_ids", [])],
        channel=kwargs["channel"],
        approval=kwargs["approval"],
        created_by=kwargs["actor"],
    )
    campaign.cohorts.set(kwargs["cohort_ids"])
    return campaign


@pytest.fixture
def services(monkeypatch: pytest.MonkeyPatch) -> dict[str, Calls]:
    calls = {
        "campaign_create": Calls(_create),
        "campaign_preview": Calls(
            lambda **kwargs: SimpleNamespace(
                count=3,
                holdout=1,
                sample=(
                    Nudge(
                        subject="Sample subject",
                        body="Sample body",
                        source=NudgeSource.TEMPLATE,
                        fallback_reason="no_key",
                    ),
                ),
            )
        ),
        "campaign_run_request": Calls(
            lambda **kwargs: Job.objects.create(
                kind="nudges.campaign_run",
                params={"campaign_id": str(kwargs["campaign"].pk)},
                requested_by=kwargs["requested_by"],
            )
        ),
    }
    service_module(monkeypatch, "campaigns", **calls)
    return calls


def _campaign(
    world: World, owner: Any, name: str = "Autumn push", cohorts: list[Any] | None = None
) -> Campaign:
    campaign = Campaign.objects.create(name=name, created_by=owner)
    campaign.cohorts.set([world.mine] if cohorts is None else cohorts)
    return campaign


def test_the_list_counts_each_campaign_nudges_in_constant_queries(
    world: World, django_assert_num_queries: Any
) -> None:
    campaign = _campaign(world, world.coach)
    nudge(world.learner, campaign=campaign, status=NudgeStatus.SENT)
    nudge(world.outsider, campaign=campaign)
    client = client_for(world.coach)
    # session, user, the coach's cohorts, count, page of campaigns with counts; the form's
    # cohorts, prompt keys, and experiments (the coach's cohorts again, for their scope)
    with django_assert_num_queries(9) as few:
        body = client.get(URL).content.decode()
    assert f'data-campaign="{campaign.pk}"' in body
    assert '<td class="number">2</td>' in body
    for n in range(5):
        other = _campaign(world, world.coach, name=f"More {n}")
        nudge(world.learner, campaign=other)
    with django_assert_num_queries(len(few.captured_queries)):
        assert client.get(URL).status_code == 200


def test_a_coach_sees_the_campaigns_within_their_cohorts_as_in_the_api(world: World) -> None:
    mine = _campaign(world, world.coach)
    for_them = _campaign(world, world.admin, name="Admin's, for the coach's cohort")
    beyond = _campaign(world, world.admin, name="Beyond", cohorts=[world.mine, world.other])
    coach = client_for(world.coach)
    body = coach.get(URL).content.decode()
    assert f'data-campaign="{mine.pk}"' in body
    assert f'data-campaign="{for_them.pk}"' in body
    assert f'data-campaign="{beyond.pk}"' not in body
    assert coach.get(f"{URL}{beyond.pk}/").status_code == 404
    api = APIClient()
    api.force_authenticate(world.coach)
    listed = {row["id"] for row in api.get("/api/v1/campaigns/").json()["results"]}
    assert listed == {str(mine.pk), str(for_them.pk)}
    admin_body = client_for(world.admin).get(URL).content.decode()
    assert f'data-campaign="{beyond.pk}"' in admin_body


@pytest.mark.parametrize("cohorts", ["mine and another", "every cohort"])
def test_a_coach_campaign_reaching_beyond_their_cohorts_is_not_theirs(
    world: World, services: dict[str, Calls], cohorts: str
) -> None:
    """As in the API: a campaign the coach started when they had another cohort (or every
    cohort, as an admin) is 404 once it reaches learners outside their cohorts."""
    campaign = _campaign(world, world.coach)
    campaign.cohorts.set([world.mine, world.other] if cohorts == "mine and another" else [])
    client = client_for(world.coach)
    assert f'data-campaign="{campaign.pk}"' not in client.get(URL).content.decode()
    assert client.get(f"{URL}{campaign.pk}/").status_code == 404
    assert client.post(f"{URL}{campaign.pk}/preview/").status_code == 404
    assert client.post(f"{URL}{campaign.pk}/run/").status_code == 404
    assert services["campaign_preview"].calls == services["campaign_run_request"].calls == []


def test_the_form_offers_only_the_coach_cohorts(world: World) -> None:
    body = client_for(world.coach).get(URL).content.decode()
    assert f'value="{world.mine.pk}"' in body
    assert f'value="{world.other.pk}"' not in body


def test_the_form_offers_only_the_experiments_the_coach_may_see(world: World) -> None:
    free = Experiment.objects.create(name="Not used yet")
    theirs = Experiment.objects.create(name="Another cohort's")
    elsewhere = Campaign.objects.create(name="Elsewhere", channel="email", experiment=theirs)
    elsewhere.cohorts.add(world.other.pk)
    body = client_for(world.coach).get(URL).content.decode()
    assert f'value="{free.pk}"' in body
    assert f'value="{theirs.pk}"' not in body and "Another cohort&#x27;s" not in body


def test_creating_calls_the_service_and_opens_the_campaign(
    world: World, services: dict[str, Calls]
) -> None:
    # The shipped prompt (migration 0002) is the one named.
    response = client_for(world.coach).post(
        URL,
        {
            "name": "Come back",
            "cohorts": [str(world.mine.pk)],
            "min_band": "high",
            "inactive_days": "7",
            "channel": "email",
            "prompt_key": "reengage",
            "approval": "review",
        },
    )
    [call] = services["campaign_create"].calls
    assert call == {
        "actor": world.coach,
        "name": "Come back",
        "cohort_ids": [world.mine.pk],
        "min_band": "high",
        "inactive_days": 7,
        "not_nudged_days": None,
        "channel": "email",
        "prompt_key": "reengage",
        "experiment": None,
        "approval": "review",
        "schedule": "",
    }
    campaign = Campaign.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"{URL}{campaign.pk}/"


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"name": ""}, "This field is required."),
        ({"cohorts": [str(uuid.uuid4())]}, "Select a valid choice."),
        ({"inactive_days": "-1"}, "greater than or equal to 0"),
        ({"inactive_days": "99999999999999999999"}, "less than or equal to 3650"),
        ({"not_nudged_days": "1000000000"}, "less than or equal to 3650"),
        ({"prompt_key": "reengage", "experiment": "EXPERIMENT"}, "not both"),
    ],
)
def test_bad_input_comes_back_with_the_reason(
    world: World, services: dict[str, Calls], fields: dict[str, Any], problem: str
) -> None:
    # The shipped prompt (migration 0002) is the one named.
    experiment = Experiment.objects.create(name="Tone")
    data = {"name": "Come back", "channel": "email", "approval": "review"} | fields
    if data.get("experiment") == "EXPERIMENT":
        data["experiment"] = str(experiment.pk)
    response = client_for(world.coach).post(URL, data)
    assert response.status_code == 400
    assert problem in response.content.decode()
    assert services["campaign_create"].calls == []


def test_analysts_read_but_may_not_create(world: World, services: dict[str, Calls]) -> None:
    campaign = _campaign(world, world.coach)
    client = client_for(world.analyst)
    assert client.get(f"{URL}{campaign.pk}/").status_code == 200
    assert "Start a campaign" not in client.get(URL).content.decode()
    assert client.post(URL, {"name": "x"}).status_code == 403
    assert client.post(f"{URL}{campaign.pk}/preview/").status_code == 403
    assert services["campaign_create"].calls == []


def test_the_preview_shows_the_count_and_samples(world: World, services: dict[str, Calls]) -> None:
    campaign = _campaign(world, world.coach)
    response = client_for(world.coach).post(f"{URL}{campaign.pk}/preview/")
    assert response.status_code == 200
    body = response.content.decode()
    assert '<strong data-count="preview">3</strong>' in body
    assert "Sample subject" in body and "Sample body" in body
    assert 'data-reason="no_key">no LLM key is configured</span>' in body
    assert "(no_key)" not in body
    assert (
        'A run now selects <strong data-count="preview">3</strong> learners:'
        ' <strong data-count="messages">2</strong> would get a message,'
        ' <strong data-count="holdout">1</strong> is held out'
        " (the experiment's holdout)."
    ) in body
    assert "From the template: <span" in body
    [call] = services["campaign_preview"].calls
    assert call == {"campaign": campaign, "actor": world.coach}


def test_the_preview_samples_say_their_arm(
    world: World, services: dict[str, Calls], monkeypatch: pytest.MonkeyPatch
) -> None:
    experiment = Experiment.objects.create(name="Tone test", created_by=world.admin)
    arm = experiment.variants.create(name="friendly")
    sample = Nudge(subject="S", body="B", source=NudgeSource.TEMPLATE, variant=arm)
    preview = Calls(lambda **kwargs: SimpleNamespace(count=1, holdout=0, sample=(sample,)))
    service_module(monkeypatch, "campaigns", campaign_preview=preview)
    campaign = _campaign(world, world.coach)
    body = client_for(world.coach).post(f"{URL}{campaign.pk}/preview/").content.decode()
    assert 'A run now selects <strong data-count="preview">1</strong> learner, who would' in body
    assert "Arm “friendly” (the template) · From the template</p>" in body


def test_the_page_counts_every_status_and_says_the_band(world: World) -> None:
    campaign = _campaign(world, world.coach)
    campaign.min_band = "high"
    campaign.save()
    statuses = (NudgeStatus.SCHEDULED, NudgeStatus.SCHEDULED, NudgeStatus.SENT, "cancelled")
    for run, status in enumerate(statuses):
        nudge(world.learner, campaign=campaign, status=status, occurrence=f"run-{run}")
    body = client_for(world.coach).get(f"{URL}{campaign.pk}/").content.decode()
    assert (
        '<span class="number" data-count="nudges">4</span> in all:'
        ' <span class="number" data-count="scheduled">2</span> scheduled ·'
        ' <span class="number" data-count="sent">1</span> sent ·'
        ' <span class="number" data-count="cancelled">1</span> cancelled</p>'
    ) in body
    assert "waiting for review" not in body
    assert "<dt>Minimum risk band</dt><dd>High</dd>" in body


def test_running_asks_for_a_job_and_follows_it(world: World, services: dict[str, Calls]) -> None:
    campaign = _campaign(world, world.coach)
    response = client_for(world.coach).post(f"{URL}{campaign.pk}/run/")
    job = Job.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/dashboard/jobs/{job.pk}/"
    [call] = services["campaign_run_request"].calls
    assert call == {"campaign": campaign, "requested_by": world.coach}


def test_a_coach_may_not_run_another_coach_campaign(
    world: World, services: dict[str, Calls]
) -> None:
    campaign = _campaign(world, world.admin, cohorts=[world.other])
    assert client_for(world.coach).post(f"{URL}{campaign.pk}/run/").status_code == 404
    assert services["campaign_run_request"].calls == []


def test_start_a_campaign_from_the_caseload(world: World, services: dict[str, Calls]) -> None:
    client = client_for(world.coach)
    assert "Start a campaign" in client.get("/dashboard/learners/").content.decode()
    response = client.post(
        "/dashboard/learners/", {"action": "start-campaign", "learner": [str(world.learner.pk)]}
    )
    campaign = Campaign.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"{URL}{campaign.pk}/"
    [call] = services["campaign_create"].calls
    assert call["learner_ids"] == [world.learner.pk]
    assert call["actor"] == world.coach
    assert call["approval"] == "review"


def test_start_a_campaign_refuses_learners_outside_the_scope(
    world: World, services: dict[str, Calls]
) -> None:
    response = client_for(world.coach).post(
        "/dashboard/learners/",
        {"action": "start-campaign", "learner": [str(world.learner.pk), str(world.outsider.pk)]},
    )
    assert response.status_code == 400
    assert services["campaign_create"].calls == []


def test_the_run_job_page_links_to_the_campaign_with_its_counts_in_words(world: World) -> None:
    campaign = _campaign(world, world.coach)
    job = Job.objects.create(
        kind="nudges.campaign_run",
        params={"campaign_id": str(campaign.pk)},
        result={"selected": 80, "holdout": 22, "by_status": {"scheduled": 48, "sent": 10}},
        requested_by=world.admin,
    )
    body = client_for(world.admin).get(f"/dashboard/jobs/{job.pk}/").content.decode()
    assert (
        f'<a href="{URL}{campaign.pk}/">Campaign “Autumn push”: 80 learners selected, 22 held'
        " out; nudges: 48 scheduled, 10 sent</a>"
    ) in body
    others = UserFactory(username="other-coach", role="coach")
    assert campaign_run_links(job, others) == []
    assert campaign_run_links(Job(params={"campaign_id": "nope"}), world.admin) == []


def test_a_coach_stops_a_campaign_and_starts_it_again(world: World) -> None:
    campaign = _campaign(world, world.coach)
    client = client_for(world.coach)
    url = f"{URL}{campaign.pk}/"

    stopped = client.post(f"{url}active/", {"active": "false"}, follow=True)

    assert stopped.status_code == 200
    body = stopped.content.decode()
    assert 'data-field="stopped"' in body and 'data-action="start"' in body
    assert 'data-action="stop"' not in body
    assert not Campaign.objects.get(pk=campaign.pk).is_active
    assert AuditEvent.objects.filter(action="campaign.deactivate").count() == 1
    assert client.post(f"{url}active/", {"active": "true"}).status_code == 302
    assert Campaign.objects.get(pk=campaign.pk).is_active
    assert 'data-action="stop"' in client.get(url).content.decode()


def test_stopping_is_for_coaches_in_scope_and_admins(world: World) -> None:
    beyond = _campaign(world, world.admin, cohorts=[world.other])
    assert client_for(world.coach).post(f"{URL}{beyond.pk}/active/").status_code == 404
    analyst = client_for(UserFactory(role=Role.ANALYST))
    assert analyst.post(f"{URL}{beyond.pk}/active/").status_code == 403
    assert client_for(world.coach).get(f"{URL}{beyond.pk}/active/").status_code in (404, 405)
    assert Campaign.objects.get(pk=beyond.pk).is_active
