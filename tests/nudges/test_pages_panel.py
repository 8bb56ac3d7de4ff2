"""The learner page's nudges section and its "Draft a nudge" form (through nudge_generate)."""

from typing import Any

import pytest
from django.test import RequestFactory

from nudges import generation
from nudges.flags import LLM_GENERATION, flag_update
from nudges.models import Nudge, NudgeSource
from nudges.pages.panel import panel_context
from tests.nudges.pages_factories import Calls, World, client_for, make_world, nudge

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db: None) -> World:
    return make_world()


def _page(world: World) -> str:
    return f"/dashboard/learners/{world.learner.pk}/"


def _draft_url(learner: Any) -> str:
    return f"/dashboard/learners/{learner.pk}/nudges/"


def test_the_panel_lists_the_learner_nudges_and_offers_a_draft(world: World, settings: Any) -> None:
    settings.OPENAI_API_KEY = ""
    shown = nudge(world.learner)
    nudge(world.outsider, subject="Not this one")
    body = client_for(world.coach).get(_page(world)).content.decode()
    assert 'id="nudges-heading"' in body
    assert f'data-nudge="{shown.pk}"' in body
    assert "A word for Ann" in body
    assert "Not this one" not in body
    assert f'action="{_draft_url(world.learner)}"' in body
    assert 'data-writer="no_key"' in body
    assert "No LLM key is configured: drafts come from the template." in body


def test_with_a_key_the_panel_says_the_llm_writes(world: World, settings: Any) -> None:
    settings.OPENAI_API_KEY = "local"
    body = client_for(world.coach).get(_page(world)).content.decode()
    assert 'data-writer="llm"' in body
    assert "The LLM writes the draft" in body


def test_with_the_flag_limited_to_another_cohort_the_panel_says_the_template_writes(
    world: World, settings: Any
) -> None:
    settings.OPENAI_API_KEY = "local"
    flag_update(name=LLM_GENERATION, active=True, cohort_ids=[world.other.pk], actor=None)
    body = client_for(world.coach).get(_page(world)).content.decode()
    assert 'data-writer="flag_off"' in body
    assert "LLM writing is switched off for this learner's cohort" in body
    assert "The LLM writes the draft" not in body
    flag_update(name=LLM_GENERATION, active=True, cohort_ids=[world.mine.pk], actor=None)
    body = client_for(world.coach).get(_page(world)).content.decode()
    assert 'data-writer="llm"' in body


def test_analysts_get_no_form_and_no_text(world: World) -> None:
    nudge(world.learner)
    body = client_for(world.analyst).get(_page(world)).content.decode()
    assert 'id="nudges-heading"' in body
    assert "A word for Ann" not in body
    assert "Draft a nudge" not in body


def _generated(source: str, fallback_reason: str = "") -> Calls:
    def answer(*, learner_id: Any, channel: str, actor: Any) -> Nudge:
        from learners.models import Learner

        return nudge(
            Learner.objects.get(pk=learner_id),
            channel=channel,
            source=source,
            fallback_reason=fallback_reason,
            created_by=actor,
        )

    return Calls(answer)


@pytest.mark.parametrize(
    ("source", "reason", "message"),
    [
        (
            NudgeSource.TEMPLATE,
            "no_key",
            "Draft written from the template (no LLM key is configured)",
        ),
        (
            NudgeSource.TEMPLATE,
            "flag_off",
            "Draft written from the template (LLM writing is switched off for this learner&#x27;s"
            " cohort)",
        ),
        (
            NudgeSource.TEMPLATE,
            "guardrail:link",
            "Draft written from the template (the LLM&#x27;s text linked to a site that is not"
            " allowed)",
        ),
        (
            NudgeSource.TEMPLATE,
            "timeout",
            "Draft written from the template (the LLM did not answer in time)",
        ),
        (NudgeSource.LLM, "", "Draft written by the LLM"),
    ],
)
def test_drafting_calls_nudge_generate_and_opens_the_draft(
    world: World, monkeypatch: pytest.MonkeyPatch, source: str, reason: str, message: str
) -> None:
    calls = _generated(source, reason)
    monkeypatch.setattr(generation, "nudge_generate", calls)
    client = client_for(world.coach)
    response = client.post(_draft_url(world.learner), {"channel": "in_app"})
    [call] = calls.calls
    assert call == {"learner_id": world.learner.pk, "channel": "in_app", "actor": world.coach}
    drafted = Nudge.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/dashboard/nudges/{drafted.pk}/"
    assert message in client.get(response["Location"]).content.decode()


@pytest.mark.parametrize(
    ("role", "whom", "channel", "status"),
    [
        ("coach", "outsider", "email", 404),  # outside the coach's cohorts
        ("coach", "learner", "fax", 400),
        ("analyst", "learner", "email", 403),
    ],
)
def test_refused_drafts_write_nothing(
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    role: str,
    whom: str,
    channel: str,
    status: int,
) -> None:
    calls = _generated(NudgeSource.TEMPLATE)
    monkeypatch.setattr(generation, "nudge_generate", calls)
    client = client_for(getattr(world, role))
    response = client.post(_draft_url(getattr(world, whom)), {"channel": channel})
    assert response.status_code == status
    if status == 400:
        assert "channel" in response.content.decode()
    assert calls.calls == []


def test_the_panel_reads_one_query_however_many_nudges(
    world: World, django_assert_num_queries: Any
) -> None:
    request = RequestFactory().get("/")
    request.user = world.coach
    nudge(world.learner)
    with django_assert_num_queries(1):
        assert len(panel_context(request, world.learner.pk)["nudges"]) == 1
    for _ in range(15):
        nudge(world.learner)
    with django_assert_num_queries(1):
        assert len(panel_context(request, world.learner.pk)["nudges"]) == 10


def test_the_nudges_section_comes_before_the_long_activity_timeline(world: World) -> None:
    body = client_for(world.coach).get(f"/dashboard/learners/{world.learner.pk}/").content.decode()
    assert body.index('id="nudges-heading"') < body.index('id="timeline-heading"')
