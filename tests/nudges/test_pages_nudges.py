"""/dashboard/nudges/: the list (scope, filters, pseudonyms, constant queries) and one nudge
(text by role, guardrail failures, approve / send / cancel through the lifecycle services)."""

from datetime import UTC, datetime
from typing import Any

import pytest
from django.test import Client

from engagement.errors import Conflict
from nudges import lifecycle
from nudges.models import Nudge, NudgeSource, NudgeStatus
from nudges.policy import Rule, rule_text
from tests.nudges.pages_factories import Calls, World, client_for, make_world, nudge

pytestmark = pytest.mark.django_db

URL = "/dashboard/nudges/"


@pytest.fixture
def world(db: None) -> World:
    return make_world()


def _detail(target: Nudge) -> str:
    return f"{URL}{target.pk}/"


def test_anonymous_visitors_are_sent_to_sign_in() -> None:
    response = Client().get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_navigation_leads_to_the_nudges_pages(world: World) -> None:
    body = client_for(world.coach).get(URL).content.decode()
    for path in ("/dashboard/nudges/", "/dashboard/campaigns/", "/dashboard/prompts/"):
        assert f'href="{path}"' in body


def test_a_coach_lists_only_the_nudges_of_their_cohorts(world: World) -> None:
    mine = nudge(world.learner, status=NudgeStatus.SENT)
    hidden = nudge(world.outsider)
    body = client_for(world.coach).get(URL).content.decode()
    assert f'data-nudge="{mine.pk}"' in body
    assert "Ann Inside" in body
    assert "Sent" in body
    assert f'data-nudge="{hidden.pk}"' not in body
    assert "Otto Outside" not in body
    admin_body = client_for(world.admin).get(URL).content.decode()
    assert f'data-nudge="{hidden.pk}"' in admin_body


def test_the_list_filters_by_status_source_and_learner(world: World) -> None:
    draft = nudge(world.learner)
    sent = nudge(world.learner, status=NudgeStatus.SENT, source=NudgeSource.LLM)
    other = nudge(world.outsider)
    client = client_for(world.admin)
    body = client.get(URL, {"status": "sent"}).content.decode()
    assert f'data-nudge="{sent.pk}"' in body and f'data-nudge="{draft.pk}"' not in body
    body = client.get(URL, {"source": "template"}).content.decode()
    assert f'data-nudge="{draft.pk}"' in body and f'data-nudge="{sent.pk}"' not in body
    body = client.get(URL, {"learner": str(world.outsider.pk)}).content.decode()
    assert f'data-nudge="{other.pk}"' in body and f'data-nudge="{draft.pk}"' not in body


@pytest.mark.parametrize("query", [{"status": "bogus"}, {"learner": "not-a-uuid"}, {"page": "x"}])
def test_bad_filters_answer_400(world: World, query: dict[str, str]) -> None:
    assert client_for(world.admin).get(URL, query).status_code == 400


def test_analysts_see_pseudonyms(world: World) -> None:
    nudge(world.learner)
    body = client_for(world.analyst).get(URL).content.decode()
    assert "Ann Inside" not in body
    assert f"Learner {str(world.learner.pk)[-8:]}" in body


def test_the_list_reads_a_constant_number_of_queries(
    world: World, django_assert_num_queries: Any
) -> None:
    client = client_for(world.coach)
    nudge(world.learner)
    # session, user, the coach's cohorts, count, page of rows, learner labels
    with django_assert_num_queries(6):
        assert client.get(URL).status_code == 200
    for _ in range(20):
        nudge(world.learner)
        nudge(world.outsider)
    with django_assert_num_queries(6):
        assert client.get(URL).status_code == 200


def test_the_detail_shows_the_text_and_why_the_template_wrote_it(world: World) -> None:
    target = nudge(world.learner, fallback_reason="no_key")
    body = client_for(world.coach).get(_detail(target)).content.decode()
    assert "Hello Ann, your course misses you." in body
    assert "no LLM key is configured" in body
    assert "(no_key)" in body  # the code, for staff who need it
    for action in ("approve", "send", "cancel"):
        assert f'action="{_detail(target)}{action}/"' in body


def test_every_fallback_reason_reads_in_words_on_the_list_and_the_detail(world: World) -> None:
    target = nudge(world.learner, fallback_reason="guardrail:link", guardrail_failures=["link"])
    client = client_for(world.coach)
    detail = client.get(_detail(target)).content.decode()
    assert "the LLM&#x27;s text linked to a site that is not allowed" in detail
    assert '<li><span title="link">' in detail
    listed = client.get(URL).content.decode()
    assert (
        '(<span title="guardrail:link" data-reason="guardrail:link">the LLM&#x27;s text linked'
        in listed
    )


def test_guardrail_failures_are_shown_and_the_rejected_text_to_admins_only(world: World) -> None:
    target = nudge(
        world.learner,
        fallback_reason="guardrail:pii",
        guardrail_failures=["pii"],
        rejected_text="Write to bob@example.org",
    )
    admin_body = client_for(world.admin).get(_detail(target)).content.decode()
    assert "guardrail:pii" in admin_body
    assert 'data-field="rejected-text"' in admin_body
    assert "Write to bob@example.org" in admin_body
    coach_body = client_for(world.coach).get(_detail(target)).content.decode()
    assert 'data-field="guardrail-failures"' in coach_body
    assert "bob@example.org" not in coach_body


def test_analysts_never_see_the_text_nor_the_buttons(world: World) -> None:
    target = nudge(world.learner)
    body = client_for(world.analyst).get(_detail(target)).content.decode()
    assert "your course misses you" not in body
    assert "A word for Ann" not in body
    assert "/approve/" not in body


def test_a_nudge_outside_the_coach_cohorts_is_404(world: World) -> None:
    target = nudge(world.outsider)
    assert client_for(world.coach).get(_detail(target)).status_code == 404
    assert client_for(world.coach).post(f"{_detail(target)}send/").status_code == 404


def _transition(status: str, **fields: Any) -> Any:
    def answer(*, nudge: Nudge, actor: Any) -> Nudge:
        Nudge.objects.filter(pk=nudge.pk).update(status=status, **fields)
        nudge.refresh_from_db()
        return nudge

    return answer


@pytest.mark.parametrize(
    ("action", "service", "status", "message"),
    [
        ("approve", "nudge_approve", NudgeStatus.APPROVED, "Approved: it can be sent now."),
        ("send", "nudge_send", NudgeStatus.SENT, "Sent."),
        ("cancel", "nudge_cancel", NudgeStatus.CANCELLED, "Cancelled: it will not be sent."),
    ],
)
def test_each_button_calls_its_lifecycle_service(
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    action: str,
    service: str,
    status: str,
    message: str,
) -> None:
    target = nudge(world.learner)
    calls = Calls(_transition(status))
    monkeypatch.setattr(lifecycle, service, calls)
    client = client_for(world.coach)
    response = client.post(f"{_detail(target)}{action}/")
    assert response.status_code == 302
    assert response["Location"] == _detail(target)
    [call] = calls.calls
    assert call["nudge"].pk == target.pk
    assert call["actor"] == world.coach
    body = client.get(_detail(target)).content.decode()
    assert message in body
    assert f'data-field="status">{NudgeStatus(status).label}<' in body


def test_a_suppressed_send_says_which_rule(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    target = nudge(world.learner)
    monkeypatch.setattr(
        lifecycle,
        "nudge_send",
        Calls(_transition(NudgeStatus.SUPPRESSED, suppressed_rule="min_gap")),
    )
    client = client_for(world.coach)
    client.post(f"{_detail(target)}send/")
    body = client.get(_detail(target)).content.decode()
    words = "the learner was nudged too recently (the minimum gap)"
    assert f"the contact policy held it back: {words} (rule min_gap)" in body
    assert f'<span title="min_gap" data-rule="min_gap">{words}</span>' in body
    listed = client.get(URL).content.decode()
    assert f'<span title="min_gap" data-rule="min_gap">{words}</span>' in listed


def test_every_policy_rule_reads_in_words_and_an_unknown_code_as_it_is() -> None:
    assert all(rule_text(rule) != rule for rule in Rule)
    assert rule_text("max_per_week") == "max_per_week"


def test_a_refused_transition_is_a_409_page(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    target = nudge(world.learner, status=NudgeStatus.SENT)

    def refuse(**kwargs: Any) -> Nudge:
        raise Conflict("This nudge was sent already.")

    monkeypatch.setattr(lifecycle, "nudge_cancel", refuse)
    response = client_for(world.coach).post(f"{_detail(target)}cancel/")
    assert response.status_code == 409
    assert "This nudge was sent already." in response.content.decode()


def test_actions_are_for_coaches_and_admins_by_post(world: World) -> None:
    target = nudge(world.learner)
    assert client_for(world.analyst).post(f"{_detail(target)}send/").status_code == 403
    assert client_for(world.coach).get(f"{_detail(target)}send/").status_code == 405
    assert client_for(world.coach).post(f"{_detail(target)}delete/").status_code == 404


def test_a_send_deferred_by_quiet_hours_says_the_rule_and_the_time_in_the_viewer_zone(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = nudge(world.learner)
    due = datetime(2026, 10, 15, 6, 0, tzinfo=UTC)

    def deferred(*, nudge: Nudge, actor: Any) -> Nudge:
        Nudge.objects.filter(pk=nudge.pk).update(status=NudgeStatus.SCHEDULED, scheduled_for=due)
        return Nudge.objects.get(pk=nudge.pk)

    monkeypatch.setattr(lifecycle, "nudge_send", deferred)
    world.coach.timezone = "America/New_York"
    world.coach.save()
    client = client_for(world.coach)
    response = client.post(f"{_detail(target)}send/", follow=True)
    body = response.content.decode()
    assert (
        "Scheduled for 15 October 2026 02:00:00 EDT: it is the learner&#x27;s quiet hours" in body
    )
    assert "(contact policy rule quiet_hours)" in body


def test_a_coach_approves_and_sends_the_selected_drafts_of_their_learners_only(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("nudges.policy.quiet_hours_end", lambda **_: None)
    first, second = nudge(world.learner), nudge(world.learner, body="Another message entirely.")
    theirs = nudge(world.outsider)
    client = client_for(world.coach)
    listed = client.get(URL).content.decode()
    assert f'name="nudge" value="{first.pk}"' in listed
    assert 'data-action="send-selected"' in listed

    response = client.post(
        f"{URL}send/", {"nudge": [str(first.pk), str(second.pk), str(theirs.pk)]}, follow=True
    )

    assert response.status_code == 200
    statuses = {n.pk: n.status for n in Nudge.objects.all()}
    assert statuses[theirs.pk] == NudgeStatus.DRAFT
    assert statuses[first.pk] == NudgeStatus.SENT
    # the second, the same day to the same learner, falls to the minimum gap
    assert statuses[second.pk] == NudgeStatus.SUPPRESSED
    body = response.content.decode()
    assert "1 sent, 0 scheduled for the end of the learner&#x27;s quiet hours, 1 held back" in body


def test_bulk_sending_refuses_bad_input_and_other_roles(world: World) -> None:
    draft = nudge(world.learner)
    coach = client_for(world.coach)
    assert coach.post(f"{URL}send/", {"nudge": ["not-a-uuid"]}).status_code == 400
    nothing = coach.post(f"{URL}send/", {}, follow=True)
    assert "Select the drafts to send." in nothing.content.decode()
    assert coach.get(f"{URL}send/").status_code == 405
    analyst = client_for(world.analyst)
    assert analyst.post(f"{URL}send/", {"nudge": [str(draft.pk)]}).status_code == 403
    assert 'name="nudge"' not in analyst.get(URL).content.decode()
    assert Nudge.objects.get(pk=draft.pk).status == NudgeStatus.DRAFT
