"""The generation API: a nudge for a learner, prompt versions, and the SSE preview; roles and
scope (coaches: their cohorts, 404 outside; analysts: no message text, no writing)."""

import json
from typing import Any

import pytest
from rest_framework.test import APIClient

from engagement.api.throttling import ScopedClientRateThrottle
from engagement.models import AuditEvent, Role
from nudges import generation
from nudges.models import Nudge, PromptTemplate
from tests.factories import CohortAssignmentFactory, CohortFactory, LearnerFactory, UserFactory
from tests.nudges.generation_factories import scored_learner

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("rules_model")]


@pytest.fixture(autouse=True)
def _no_llm_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """The template path (no key), whatever the environment says."""
    monkeypatch.setattr(generation, "llm_configured", lambda: False)


def _client(role: str) -> tuple[APIClient, Any]:
    user = UserFactory(role=role)
    client = APIClient()
    client.force_authenticate(user)
    return client, user


def _url(learner: Any) -> str:
    return f"/api/v1/learners/{learner.pk}/nudges/"


def test_an_admin_gets_a_stored_template_draft_saying_no_key(auth_client: APIClient) -> None:
    learner = scored_learner(locale="fr")

    response = auth_client.post(_url(learner), {"channel": "in_app"}, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    nudge = Nudge.objects.get()
    assert body["id"] == str(nudge.pk)
    assert (body["learner"], body["channel"], body["status"]) == (
        str(learner.pk),
        "in_app",
        "draft",
    )
    assert (body["source"], body["fallback_reason"]) == ("template", "no_key")
    assert body["body"].startswith("Bonjour Ada,")
    assert body["subject"] == nudge.subject
    assert {"prompt_version", "campaign", "experiment", "variant", "created_at", "sent_at"} <= set(
        body
    )
    assert AuditEvent.objects.filter(action="nudge.generate", target_id=str(nudge.pk)).exists()


def test_a_coach_writes_for_their_learners_only_404_outside() -> None:
    client, coach = _client(Role.COACH)
    mine = scored_learner()
    CohortAssignmentFactory(user=coach, cohort=mine.cohort)
    theirs = scored_learner(cohort=CohortFactory())

    assert client.post(_url(mine), {"channel": "email"}, format="json").status_code == 201
    assert client.post(_url(theirs), {"channel": "email"}, format="json").status_code == 404
    assert Nudge.objects.filter(learner=theirs).count() == 0


def test_an_analyst_may_not_write_a_nudge() -> None:
    client, _ = _client(Role.ANALYST)
    response = client.post(_url(scored_learner()), {"channel": "email"}, format="json")
    assert response.status_code == 403
    assert not Nudge.objects.exists()


def test_anonymous_callers_are_refused(api_client: APIClient) -> None:
    response = api_client.post(_url(scored_learner()), {"channel": "email"}, format="json")
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "channel"),
        ({"channel": "sms"}, "channel"),
        ({"channel": "email", "prompt_key": "no-such-prompt"}, "prompt_key"),
        ({"channel": "email", "prompt_key": "not a slug!"}, "prompt_key"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(
    auth_client: APIClient, payload: dict[str, Any], field: str
) -> None:
    response = auth_client.post(_url(scored_learner()), payload, format="json")
    assert response.status_code == 400
    assert list(response.json()) == [field]


def test_an_unknown_or_unscored_learner_is_refused_clearly(auth_client: APIClient) -> None:
    missing = auth_client.post(
        "/api/v1/learners/00000000-0000-7000-8000-000000000000/nudges/",
        {"channel": "email"},
        format="json",
    )
    assert missing.status_code == 404
    unscored = auth_client.post(_url(LearnerFactory()), {"channel": "email"}, format="json")
    assert unscored.status_code == 400
    assert list(unscored.json()) == ["learner"]


# Prompts ---------------------------------------------------------------------------------------


def test_staff_list_and_read_prompt_versions_in_a_constant_number_of_queries(
    django_assert_max_num_queries: Any,
) -> None:
    client, _ = _client(Role.COACH)
    with django_assert_max_num_queries(4):
        listed = client.get("/api/v1/prompts/")
    assert listed.status_code == 200
    rows = listed.json()["results"]
    assert [(row["key"], row["locale"], row["version"], row["is_active"]) for row in rows] == [
        ("reengage", "en", 1, True),
        ("reengage", "fr", 1, True),
    ]
    french = client.get("/api/v1/prompts/", {"locale": "fr"}).json()["results"]
    assert [row["locale"] for row in french] == ["fr"]
    assert client.get("/api/v1/prompts/", {"key": "other"}).json()["results"] == []
    detail = client.get(f"/api/v1/prompts/{rows[0]['id']}/")
    assert detail.status_code == 200
    assert detail.json()["user_text"].startswith("Learner's first name: {first_name}")
    assert client.get("/api/v1/prompts/00000000-0000-7000-8000-000000000000/").status_code == 404
    assert client.get("/api/v1/prompts/not-a-uuid/").status_code == 404


def test_an_admin_writes_a_version_and_rolls_back(auth_client: APIClient) -> None:
    created = auth_client.post(
        "/api/v1/prompts/",
        {
            "key": "reengage",
            "locale": "en",
            "system_text": "Write in {language}.",
            "user_text": "Hello {first_name}",
            "activate": True,
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    assert (created.json()["version"], created.json()["is_active"]) == (2, True)
    shipped = PromptTemplate.objects.get(key="reengage", locale="en", version=1)

    rolled_back = auth_client.post(f"/api/v1/prompts/{shipped.pk}/activate/")

    assert rolled_back.status_code == 200
    assert rolled_back.json()["is_active"] is True
    assert not PromptTemplate.objects.get(key="reengage", locale="en", version=2).is_active
    assert AuditEvent.objects.filter(action="prompt.activate").count() == 2


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"key": "k", "system_text": "S", "user_text": "{email}"}, "user_text"),
        ({"key": "k", "system_text": "{first_name.__class__}", "user_text": "U"}, "system_text"),
        ({"key": "k", "system_text": "S", "user_text": "U", "temperature": 3}, "temperature"),
        ({"key": "k", "system_text": "S", "user_text": "U", "locale": "../x"}, "locale"),
        ({"key": "bad key", "system_text": "S", "user_text": "U"}, "key"),
        ({"system_text": "S", "user_text": "U"}, "key"),
        ({"key": "k", "system_text": "S", "user_text": 12345}, "user_text"),
        ({"key": "k", "system_text": "S", "user_text": "U", "notes": 1.5}, "notes"),
        ({"key": "k", "system_text": "S", "user_text": "U", "activate": "yes"}, "activate"),
    ],
)
def test_a_bad_version_is_a_400_naming_the_field(
    auth_client: APIClient, payload: dict[str, Any], field: str
) -> None:
    response = auth_client.post("/api/v1/prompts/", payload, format="json")
    assert response.status_code == 400
    assert list(response.json()) == [field]


@pytest.mark.parametrize("role", [Role.COACH, Role.ANALYST])
def test_only_admins_write_or_activate_prompts(role: str) -> None:
    client, _ = _client(role)
    shipped = PromptTemplate.objects.get(key="reengage", locale="en", version=1)
    payload = {"key": "k", "system_text": "S", "user_text": "U"}
    assert client.post("/api/v1/prompts/", payload, format="json").status_code == 403
    assert client.post(f"/api/v1/prompts/{shipped.pk}/activate/").status_code == 403


# The SSE preview -------------------------------------------------------------------------------


def _events(response: Any) -> list[tuple[str, Any]]:
    text = b"".join(response.streaming_content).decode()
    events = []
    for block in text.strip().split("\n\n"):
        kind, data = block.split("\n")
        events.append((kind.removeprefix("event: "), json.loads(data.removeprefix("data: "))))
    return events


def test_the_preview_streams_the_template_saying_so_without_a_key(
    auth_client: APIClient,
) -> None:
    learner = scored_learner()

    response = auth_client.get(
        "/api/v1/nudges/stream/", {"learner": str(learner.pk)}, HTTP_ACCEPT="text/event-stream"
    )

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/event-stream")
    [(kind, data)] = _events(response)
    assert kind == "done"
    assert (data["source"], data["fallback_reason"]) == ("template", "no_key")
    assert data["body"].startswith("Hi Ada,")
    assert not Nudge.objects.exists()


def test_the_preview_is_scoped_and_refuses_bad_input() -> None:
    client, coach = _client(Role.COACH)
    mine = scored_learner(cohort=CohortFactory())
    CohortAssignmentFactory(user=coach, cohort=mine.cohort)
    theirs = scored_learner()
    assert client.get("/api/v1/nudges/stream/", {"learner": str(mine.pk)}).status_code == 200
    outside = client.get("/api/v1/nudges/stream/", {"learner": str(theirs.pk)})
    assert outside.status_code == 404
    assert client.get("/api/v1/nudges/stream/", {"learner": "nope"}).status_code == 400
    unknown_key = client.get(
        "/api/v1/nudges/stream/", {"learner": str(mine.pk), "prompt_key": "nowhere"}
    )
    assert unknown_key.status_code == 400
    assert list(unknown_key.json()) == ["prompt_key"]
    as_events = client.get(
        "/api/v1/nudges/stream/", {"learner": "nope"}, HTTP_ACCEPT="text/event-stream"
    )
    assert as_events.status_code == 400
    assert as_events.content.decode().startswith("event: error\ndata: {")
    analyst, _ = _client(Role.ANALYST)
    assert analyst.get("/api/v1/nudges/stream/", {"learner": str(theirs.pk)}).status_code == 403


def test_previews_and_drafts_share_a_tighter_budget_per_user(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ScopedClientRateThrottle, "THROTTLE_RATES", {"nudge_generation": "2/min"})
    client, coach = _client(Role.COACH)
    learner = scored_learner(cohort=CohortFactory())
    CohortAssignmentFactory(user=coach, cohort=learner.cohort)
    stream = {"learner": str(learner.pk)}

    assert client.get("/api/v1/nudges/stream/", stream).status_code == 200
    drafted = client.post(f"/api/v1/learners/{learner.pk}/nudges/", {"channel": "email"})
    assert drafted.status_code == 201
    refused = client.get("/api/v1/nudges/stream/", stream)
    assert refused.status_code == 429
    assert "Retry-After" in refused
    other, other_coach = _client(Role.COACH)
    CohortAssignmentFactory(user=other_coach, cohort=learner.cohort)
    assert other.get("/api/v1/nudges/stream/", stream).status_code == 200
