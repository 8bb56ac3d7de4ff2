"""A nudge links to its campaign only for a viewer who may open the campaign's page: a coach
sees the nudges of their learners that campaigns reaching beyond their cohorts made, whose page
is 404 for them, so those show the campaign's name without a link."""

from typing import Any

import pytest

from nudges.models import Campaign, Nudge, NudgeStatus
from tests.nudges.pages_factories import World, client_for, make_world, nudge

pytestmark = pytest.mark.django_db

URL = "/dashboard/nudges/"


@pytest.fixture
def world(db: None) -> World:
    return make_world()


def _campaign_nudge(world: World, owner: Any, name: str) -> tuple[Campaign, Nudge]:
    """The coach's campaigns name the coach's cohort; others' reach another one too."""
    campaign = Campaign.objects.create(name=name, created_by=owner)
    campaign.cohorts.set([world.mine] if owner == world.coach else [world.mine, world.other])
    return campaign, nudge(world.learner, campaign=campaign, status=NudgeStatus.SENT)


def _link(campaign: Campaign) -> str:
    return f'href="/dashboard/campaigns/{campaign.pk}/"'


def test_a_coach_gets_links_only_to_the_campaigns_they_may_open(world: World) -> None:
    mine, my_nudge = _campaign_nudge(world, world.coach, "Coach's push")
    theirs, their_nudge = _campaign_nudge(world, world.admin, "Admin's push")
    coach = client_for(world.coach)
    assert coach.get(f"/dashboard/campaigns/{mine.pk}/").status_code == 200
    assert coach.get(f"/dashboard/campaigns/{theirs.pk}/").status_code == 404
    listed = coach.get(URL).content.decode()
    assert _link(mine) in listed
    assert _link(theirs) not in listed
    assert "Admin&#x27;s push" in listed
    assert _link(mine) in coach.get(f"{URL}{my_nudge.pk}/").content.decode()
    detail = coach.get(f"{URL}{their_nudge.pk}/").content.decode()
    assert _link(theirs) not in detail
    assert "Admin&#x27;s push" in detail


def test_an_admin_gets_every_link(world: World) -> None:
    mine, _ = _campaign_nudge(world, world.coach, "Coach's push")
    theirs, their_nudge = _campaign_nudge(world, world.admin, "Admin's push")
    admin = client_for(world.admin)
    listed = admin.get(URL).content.decode()
    assert _link(mine) in listed and _link(theirs) in listed
    assert _link(theirs) in admin.get(f"{URL}{their_nudge.pk}/").content.decode()


def test_checking_the_campaigns_is_one_query_whatever_their_number(
    world: World, django_assert_num_queries: Any
) -> None:
    client = client_for(world.coach)
    _campaign_nudge(world, world.coach, "First")
    # session, user, the coach's cohorts, count, page of rows, learner labels, the coach's
    # cohorts again and the campaigns (the API's rule)
    with django_assert_num_queries(8):
        assert client.get(URL).status_code == 200
    for n in range(10):
        _campaign_nudge(world, world.coach if n % 2 else world.admin, f"Push {n}")
    with django_assert_num_queries(8):
        assert client.get(URL).status_code == 200
