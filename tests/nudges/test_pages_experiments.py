"""/dashboard/experiments/ and /dashboard/experiments/<id>/: the list with each headline, the
results table from nudges.experiment_selectors, the links to its campaigns, promoting a winner,
and the warning when an LLM arm is written by the template."""

import uuid
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from django.urls import get_resolver

from engagement.errors import NotFound
from nudges.campaigns import campaign_create
from nudges.flags import LLM_GENERATION, flag_update
from nudges.models import Experiment, PromptTemplate
from tests.factories import LearnerFactory
from tests.nudges.experiments_factories import experiment, exposed
from tests.nudges.pages_factories import Calls, World, client_for, make_world, service_module

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def world(db: None) -> World:
    return make_world()


def _arm(arm: str, **figures: Any) -> SimpleNamespace:
    empty = dict.fromkeys(("difference", "ci_low", "ci_high", "p_value", "rate"))
    values = {"variant_id": None, "prompt_id": None, "prompt_version": None} | empty
    return SimpleNamespace(arm=arm, **(values | figures))


def _results(**kwargs: Any) -> SimpleNamespace:
    return SimpleNamespace(
        experiment_id=kwargs["experiment"].pk,
        status="running",
        winner=None,
        attribution_days=7,
        arms=(
            _arm("holdout", assigned=100, n=100, re_engaged=10, rate=0.1),
            _arm(
                "warm",
                variant_id=uuid.uuid4(),
                prompt_version=3,
                assigned=100,
                n=98,
                re_engaged=25,
                rate=25 / 98,
                difference=25 / 98 - 0.1,
                ci_low=0.05,
                ci_high=0.26,
                p_value=0.0041,
            ),
            _arm(
                "plain",
                variant_id=uuid.uuid4(),
                assigned=100,
                n=100,
                re_engaged=1,
                rate=0.01,
                difference=-0.09,
                ci_low=-0.16,
                ci_high=-0.03,
                p_value=0.0002,
            ),
        ),
    )


@pytest.fixture
def selectors(monkeypatch: pytest.MonkeyPatch) -> dict[str, Calls]:
    def get(*, actor: Any, experiment_id: Any) -> Experiment:
        try:
            return Experiment.objects.get(pk=experiment_id)
        except Experiment.DoesNotExist as exc:
            raise NotFound("No experiment with this id.") from exc

    # Load every URL's views first: a module importing these functions by name (the API's)
    # would otherwise bind the stand-ins for the rest of the session.
    assert get_resolver().url_patterns
    calls = {"experiment_get": Calls(get), "experiment_results": Calls(_results)}
    service_module(monkeypatch, "experiment_selectors", **calls)
    return calls


@pytest.mark.parametrize("role", ["admin", "coach", "analyst"])
def test_every_role_reads_the_results_per_arm(
    world: World, selectors: dict[str, Calls], role: str
) -> None:
    experiment = Experiment.objects.create(name="Warm or plain")
    user = getattr(world, role)
    response = client_for(user).get(f"/dashboard/experiments/{experiment.pk}/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Warm or plain" in body
    holdout = body.split('data-arm="holdout"')[1].split("</tr>")[0]
    assert "nothing sent" in holdout and "10.0%" in holdout
    warm = body.split('data-arm="warm"')[1].split("</tr>")[0]
    for shown in ("v3", "98", "25.5%", "+15.5 pts", "+5.0 pts … +26.0 pts", "0.004"):
        assert shown in warm
    plain = body.split('data-arm="plain"')[1].split("</tr>")[0]
    for shown in ("the template", "-9.0 pts", "-16.0 pts … -3.0 pts", "&lt; 0.001"):
        assert shown in plain
    assert "0.000" not in plain
    [call] = selectors["experiment_results"].calls
    assert call == {"experiment": experiment, "actor": user}


def test_an_unknown_experiment_is_404(world: World, selectors: dict[str, Calls]) -> None:
    response = client_for(world.admin).get(f"/dashboard/experiments/{uuid.uuid4()}/")
    assert response.status_code == 404
    assert selectors["experiment_results"].calls == []


def _prompt() -> PromptTemplate:
    return PromptTemplate.objects.create(
        key="checkin", version=2, locale="en", system_text="s", user_text="u"
    )


def _row(body: str, marker: str) -> str:
    return body.split(marker)[1].split("</tr>")[0]


def test_the_list_shows_each_experiment_with_its_headline_in_constant_queries(
    world: World, django_assert_max_num_queries: Any
) -> None:
    trial = experiment(name="Warm or plain", holdout_share=0.5)
    exposed(trial, LearnerFactory.create_batch(20, cohort=world.mine), None, 2, at=NOW)
    exposed(trial, LearnerFactory.create_batch(20, cohort=world.mine), "A", 12, at=NOW)
    exposed(trial, LearnerFactory.create_batch(20, cohort=world.mine), "B", 4, at=NOW)
    fresh = experiment(name="Pilot", prompts={"A": _prompt().pk})
    client = client_for(world.analyst)
    client.get("/dashboard/experiments/")  # sessions and the like, once
    with django_assert_max_num_queries(8):
        response = client.get("/dashboard/experiments/")
    assert response.status_code == 200
    body = response.content.decode()
    row = _row(body, f'data-experiment="{trial.pk}"')
    # A: 12/20 against 2/20: +50.0 pts, p = 0.0006 (< 0.001); B is nearer the holdout.
    for shown in ("Warm or plain", "Running", "holdout, A, B", ">60<", "A +50.0 pts", "&lt; 0.001"):
        assert shown in row
    pilot = _row(body, f'data-experiment="{fresh.pk}"')
    assert "A (v2)" in pilot and "Nobody exposed yet" in pilot
    assert '<a href="/dashboard/experiments/" aria-current="page">' in body
    for _ in range(3):
        experiment(name="More")
    with django_assert_max_num_queries(8):
        assert client.get("/dashboard/experiments/").status_code == 200


def test_a_coach_lists_what_experiment_list_gives_them(world: World) -> None:
    theirs, fresh = experiment(name="Theirs"), experiment(name="Fresh")
    campaign_create(
        actor=world.admin,
        name="Elsewhere",
        channel="email",
        cohort_ids=[world.other.pk],
        experiment=theirs,
    )
    body = client_for(world.coach).get("/dashboard/experiments/").content.decode()
    assert f'data-experiment="{fresh.pk}"' in body
    assert f'data-experiment="{theirs.pk}"' not in body


def test_the_experiment_page_highlights_experiments_and_links_the_campaigns_one_may_open(
    world: World,
) -> None:
    trial = experiment(name="Shared")
    mine = campaign_create(
        actor=world.coach,
        name="Mine",
        channel="email",
        cohort_ids=[world.mine.pk],
        experiment=trial,
    )
    boss = campaign_create(
        actor=world.admin,
        name="Boss's",
        channel="email",
        cohort_ids=[world.mine.pk, world.other.pk],  # beyond the coach's cohorts
        experiment=trial,
    )
    url = f"/dashboard/experiments/{trial.pk}/"
    coach_body = client_for(world.coach).get(url).content.decode()
    assert '<a href="/dashboard/experiments/" aria-current="page">' in coach_body
    assert f'data-campaign="{mine.pk}"' in coach_body
    assert f'data-campaign="{boss.pk}"' not in coach_body
    admin_body = client_for(world.admin).get(url).content.decode()
    assert f'data-campaign="{mine.pk}"' in admin_body and f'data-campaign="{boss.pk}"' in admin_body


def test_an_admin_promotes_an_arm_with_a_prompt_version(world: World) -> None:
    version = _prompt()
    trial = experiment(prompts={"A": version.pk})
    url = f"/dashboard/experiments/{trial.pk}/"
    admin = client_for(world.admin)
    body = admin.get(url).content.decode()
    assert 'name="variant" value="A"' in _row(body, 'data-arm="A"')
    assert "Promote winner" not in _row(body, 'data-arm="B"')  # the template: no version
    for role in ("coach", "analyst"):
        assert "Promote winner" not in client_for(getattr(world, role)).get(url).content.decode()
        refused = client_for(getattr(world, role)).post(f"{url}promote/", {"variant": "A"})
        assert refused.status_code == 403

    response = admin.post(f"{url}promote/", {"variant": "A"}, follow=True)
    assert response.redirect_chain == [(url, 302)]
    trial.refresh_from_db()
    version.refresh_from_db()
    assert (trial.status, trial.winner.name if trial.winner else None) == ("stopped", "A")
    assert version.is_active
    assert "A is promoted" in response.content.decode()
    assert "Promote winner" not in response.content.decode()

    again = admin.post(f"{url}promote/", {"variant": "A"}, follow=True)
    assert again.status_code == 200
    assert "its winner is already chosen" in again.content.decode()


NO_KEY_WARNING = "No LLM key is configured: the LLM arm is written by the template"


def test_without_an_llm_key_an_llm_arm_is_said_to_compare_the_template_with_itself(
    world: World, settings: Any
) -> None:
    settings.OPENAI_API_KEY = ""
    with_prompt = experiment(name="LLM or not", prompts={"A": _prompt().pk})
    templates_only = experiment(name="Two templates")
    campaign = campaign_create(
        actor=world.coach,
        name="Mine",
        channel="email",
        cohort_ids=[world.mine.pk],
        experiment=with_prompt,
    )
    coach = client_for(world.coach)
    assert NO_KEY_WARNING in coach.get(f"/dashboard/experiments/{with_prompt.pk}/").content.decode()
    assert NO_KEY_WARNING in coach.get(f"/dashboard/campaigns/{campaign.pk}/").content.decode()
    preview = coach.post(f"/dashboard/campaigns/{campaign.pk}/preview/")
    assert NO_KEY_WARNING in preview.content.decode()
    plain = coach.get(f"/dashboard/experiments/{templates_only.pk}/").content.decode()
    assert "compares the template with itself" not in plain

    settings.OPENAI_API_KEY = "a-key"
    page = coach.get(f"/dashboard/experiments/{with_prompt.pk}/").content.decode()
    assert "compares the template with itself" not in page


def test_with_generation_switched_off_for_the_campaign_s_cohorts_the_campaign_says_so(
    world: World, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.OPENAI_API_KEY = "a-key"
    trial = experiment(prompts={"A": _prompt().pk})
    campaign = campaign_create(
        actor=world.coach,
        name="Mine",
        channel="email",
        cohort_ids=[world.mine.pk],
        experiment=trial,
    )
    url = f"/dashboard/campaigns/{campaign.pk}/"
    coach = client_for(world.coach)
    flag_update(name=LLM_GENERATION, active=True, cohort_ids=[world.other.pk], actor=world.admin)
    assert "LLM generation is switched off" in coach.get(url).content.decode()
    flag_update(name=LLM_GENERATION, active=True, cohort_ids=[world.mine.pk], actor=world.admin)
    assert "compares the template with itself" not in coach.get(url).content.decode()
    with django_capture_on_commit_callbacks(execute=True):  # waffle forgets its cached switch
        flag_update(name=LLM_GENERATION, active=False, cohort_ids=[], actor=world.admin)
    page = coach.get(f"/dashboard/experiments/{trial.pk}/").content.decode()
    assert "LLM generation is switched off" in page
