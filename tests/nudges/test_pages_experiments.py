"""/dashboard/experiments/<id>/: the results table from nudges.experiment_selectors."""

import uuid
from types import SimpleNamespace
from typing import Any

import pytest

from engagement.errors import NotFound
from nudges.models import Experiment
from tests.nudges.pages_factories import Calls, World, client_for, make_world, service_module

pytestmark = pytest.mark.django_db


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
        ),
    )


@pytest.fixture
def selectors(monkeypatch: pytest.MonkeyPatch) -> dict[str, Calls]:
    def get(*, actor: Any, experiment_id: Any) -> Experiment:
        try:
            return Experiment.objects.get(pk=experiment_id)
        except Experiment.DoesNotExist as exc:
            raise NotFound("No experiment with this id.") from exc

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
    for shown in ("v3", "98", "25.5%", "15.5%", "5.0% … 26.0%", "0.004"):
        assert shown in warm
    [call] = selectors["experiment_results"].calls
    assert call == {"experiment": experiment, "actor": user}


def test_an_unknown_experiment_is_404(world: World, selectors: dict[str, Calls]) -> None:
    response = client_for(world.admin).get(f"/dashboard/experiments/{uuid.uuid4()}/")
    assert response.status_code == 404
    assert selectors["experiment_results"].calls == []
