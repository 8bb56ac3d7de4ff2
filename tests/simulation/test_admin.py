"""Simulations in the admin: listed and shown, never added, changed or deleted there."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from engagement.models import Role
from simulation.models import Simulation
from simulation.services import simulation_request
from tests.factories import LearnerFactory, UserFactory
from tests.simulation.conftest import COUNTING

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("counting_kind")]

URL = "/admin/simulation/simulation/"


@pytest.fixture
def run() -> Simulation:
    LearnerFactory()
    return simulation_request(
        actor=UserFactory(role=Role.ADMIN),
        kind=COUNTING,
        params={"seed": 3},
        name="Spring what-if",
        in_process=True,
    )


def test_runs_are_listed_and_shown_read_only(client: Client, run: Simulation) -> None:
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    listed = client.get(URL, {"kind": COUNTING, "job__status": "succeeded"})
    shown = client.get(f"{URL}{run.pk}/change/")

    assert listed.status_code == 200
    assert b"Spring what-if" in listed.content
    assert shown.status_code == 200
    assert b"Spring what-if" in shown.content
    assert b'name="name"' not in shown.content and b'name="params"' not in shown.content
    assert client.get(f"{URL}add/").status_code == 403
    assert client.post(f"{URL}{run.pk}/delete/", {"post": "yes"}).status_code == 403
    assert client.post(f"{URL}{run.pk}/change/", {"name": "Renamed"}).status_code == 403
    assert Simulation.objects.get().name == "Spring what-if"


def test_the_list_costs_the_same_queries_at_two_sizes(client: Client, run: Simulation) -> None:
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    with CaptureQueriesContext(connection) as one:
        assert client.get(URL).status_code == 200
    for _ in range(3):
        simulation_request(actor=run.requested_by, kind=COUNTING, params={}, in_process=True)
    with CaptureQueriesContext(connection) as four:
        assert client.get(URL).status_code == 200
    assert len(four) == len(one)
