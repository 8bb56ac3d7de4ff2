"""The overview's nudge KPIs: nudges.contracts.nudge_figures and the tiles that show them."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.cache import cache
from django.utils import timezone

from nudges.contracts import nudge_figures
from nudges.models import LLMCall, LLMOutcome, NudgeStatus
from tests.nudges.pages_factories import World, client_for, make_world, nudge

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
MONTH = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture
def world(db: None) -> World:
    return make_world()


def _call(cost: str, at: datetime) -> LLMCall:
    call = LLMCall.objects.create(model="gpt-4o-mini", outcome=LLMOutcome.OK, cost=Decimal(cost))
    LLMCall.objects.filter(pk=call.pk).update(created_at=at)
    return call


def _sent(learner: Any, at: datetime, *, came_back: bool = False, call: Any = None) -> None:
    nudge(
        learner,
        status=NudgeStatus.SENT,
        sent_at=at,
        re_engaged_at=at + timedelta(days=1) if came_back else None,
        llm_call=call,
    )


@pytest.fixture
def month(world: World) -> World:
    _sent(
        world.learner,
        NOW - timedelta(days=3),
        came_back=True,
        call=_call("0.25", NOW - timedelta(days=3)),
    )
    _sent(world.learner, NOW - timedelta(days=2))
    _sent(
        world.outsider,
        NOW - timedelta(days=1),
        came_back=True,
        call=_call("1.50", NOW - timedelta(days=1)),
    )
    _sent(world.outsider, MONTH - timedelta(days=1), came_back=True)  # last month
    nudge(world.learner)  # a draft is not sent
    _call("0.10", MONTH - timedelta(hours=1))  # last month
    return world


def test_the_figures_over_every_cohort(month: World, django_assert_num_queries: Any) -> None:
    with django_assert_num_queries(2):
        figures = nudge_figures(since=MONTH, until=NOW)
    assert (figures.sent, figures.re_engaged) == (3, 2)
    assert figures.rate == pytest.approx(2 / 3)
    assert figures.llm_cost == Decimal("1.75")


def test_the_figures_of_some_cohorts(month: World, django_assert_num_queries: Any) -> None:
    with django_assert_num_queries(2):
        figures = nudge_figures(since=MONTH, until=NOW, cohort_ids=[month.mine.pk])
    assert (figures.sent, figures.re_engaged, figures.rate) == (2, 1, 0.5)
    assert figures.llm_cost == Decimal("0.25")


def test_no_nudge_sent_has_no_rate(world: World) -> None:
    figures = nudge_figures(since=MONTH, until=NOW)
    assert (figures.sent, figures.rate, figures.llm_cost) == (0, None, Decimal(0))


def test_the_overview_shows_this_month_figures(world: World) -> None:
    cache.clear()
    now = timezone.now()
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    _sent(world.learner, start + (now - start) / 2, came_back=True, call=_call("0.50", now))
    _sent(world.learner, start + (now - start) / 3)
    _sent(world.outsider, start + (now - start) / 4, call=_call("2.00", now))
    body = client_for(world.coach).get("/dashboard/").content.decode()

    def tile(key: str) -> str:
        return body.split(f'data-kpi="{key}"')[1].split("</li>")[0]

    assert '<span class="kpi-value number">2</span>' in tile("nudges")
    assert '<span class="kpi-value number">50%</span>' in tile("re-engagement")
    assert '<span class="kpi-value number">$0.50</span>' in tile("llm-cost")
    assert f"Since {start:%-d %b} (UTC)" in tile("nudges")
    admin = client_for(world.admin).get("/api/v1/analytics/overview/").json()
    assert admin["nudges_sent"]["value"] == 3
    assert admin["llm_cost_month"]["value"] == 2.5


def test_a_cost_below_a_cent_does_not_read_as_nothing(world: World) -> None:
    cache.clear()
    now = timezone.now()
    _sent(world.learner, now, call=_call("0.003", now))
    body = client_for(world.coach).get("/dashboard/").content.decode()
    tile = body.split('data-kpi="llm-cost"')[1].split("</li>")[0]
    assert '<span class="kpi-value number">$0.003</span>' in tile
