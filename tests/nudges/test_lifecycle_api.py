"""The nudge endpoints (list, detail, create, approve, send, cancel) and the in-app inbox with
read receipts: roles, scope (404 outside), analysts without text, every failure answered 4xx."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from rest_framework.test import APIClient

from engagement.api_keys import api_key_create
from engagement.models import AuditEvent, OutboxMessage
from engagement.outbox import outbox_deliver
from nudges.lifecycle import nudge_send
from nudges.models import Channel, Nudge, NudgeSource, NudgeStatus
from tests.factories import CohortAssignmentFactory, CohortFactory, LearnerFactory, UserFactory
from tests.nudges.lifecycle_factories import make_nudge

pytestmark = pytest.mark.django_db

URL = "/api/v1/nudges/"


@pytest.fixture(autouse=True)
def _no_quiet_hours(settings: Any) -> None:
    """Sends happen now, whatever the hour the tests run at."""
    settings.NUDGE_QUIET_HOURS_START = settings.NUDGE_QUIET_HOURS_END = 0


@pytest.fixture
def world() -> dict[str, Any]:
    cohort, other = CohortFactory(), CohortFactory()
    coach = UserFactory(role="coach")
    CohortAssignmentFactory(user=coach, cohort=cohort)
    mine, theirs = LearnerFactory(cohort=cohort), LearnerFactory(cohort=other)
    return {
        "cohort": cohort,
        "coach": coach,
        "admin": UserFactory(role="admin"),
        "analyst": UserFactory(role="analyst"),
        "mine": mine,
        "theirs": theirs,
        "my_nudge": make_nudge(learner=mine),
        "their_nudge": make_nudge(learner=theirs),
    }


def client_for(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def key_client(*scopes: str) -> APIClient:
    admin = UserFactory(role="admin")
    issued = api_key_create(name="lms", scopes=list(scopes), created_by=admin)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {issued.secret}")
    return client


# List and detail ---------------------------------------------------------------------------


def test_a_coach_lists_only_the_nudges_of_their_cohorts(world: dict[str, Any]) -> None:
    response = client_for(world["coach"]).get(URL)
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [str(world["my_nudge"].pk)]


def test_an_admin_lists_every_nudge_newest_first_with_the_contract_fields(
    world: dict[str, Any],
) -> None:
    rows = client_for(world["admin"]).get(URL).json()["results"]
    assert [row["id"] for row in rows] == [str(world["their_nudge"].pk), str(world["my_nudge"].pk)]
    assert {
        "id",
        "learner",
        "channel",
        "status",
        "source",
        "fallback_reason",
        "subject",
        "body",
        "prompt_version",
        "campaign",
        "experiment",
        "variant",
        "created_at",
        "sent_at",
    } <= set(rows[0])
    assert rows[0]["body"] == world["their_nudge"].body


def test_analysts_see_nudges_without_their_text(world: dict[str, Any]) -> None:
    client = client_for(world["analyst"])
    rows = client.get(URL).json()["results"]
    assert len(rows) == 2 and all(row["subject"] is None and row["body"] is None for row in rows)
    detail = client.get(f"{URL}{world['my_nudge'].pk}/").json()
    assert detail["body"] is None and detail["status"] == "draft"


def test_the_list_filters(world: dict[str, Any]) -> None:
    mine = world["mine"]
    manual = make_nudge(learner=mine, source=NudgeSource.MANUAL, status=NudgeStatus.SENT)
    client = client_for(world["admin"])

    def ids(query: str) -> set[str]:
        return {row["id"] for row in client.get(f"{URL}?{query}").json()["results"]}

    assert ids(f"learner={mine.pk}") == {str(world["my_nudge"].pk), str(manual.pk)}
    assert ids("status=sent") == {str(manual.pk)}
    assert ids("status=sent&status=draft") == ids("")
    assert ids("source=manual") == {str(manual.pk)}
    assert ids("campaign=0190a000-0000-7000-8000-000000000000") == set()


@pytest.mark.parametrize("query", ["learner=nope", "status=shipped", "source=ai", "campaign=1"])
def test_bad_filters_are_a_400_naming_them(world: dict[str, Any], query: str) -> None:
    response = client_for(world["admin"]).get(f"{URL}?{query}")
    assert response.status_code == 400 and query.split("=")[0] in response.json()


def test_the_list_costs_the_same_queries_for_many_nudges(
    world: dict[str, Any], django_assert_max_num_queries: Any
) -> None:
    client = client_for(world["coach"])
    with django_assert_max_num_queries(10) as captured:
        client.get(URL)
    few = len(captured)
    for _ in range(15):
        make_nudge(learner=world["mine"])
    with django_assert_max_num_queries(few):
        assert len(client.get(URL).json()["results"]) == 16


def test_a_nudge_outside_the_coachs_cohorts_is_404(world: dict[str, Any]) -> None:
    client = client_for(world["coach"])
    their = world["their_nudge"].pk
    assert client.get(f"{URL}{their}/").status_code == 404
    for verb in ("approve", "send", "cancel"):
        assert client.post(f"{URL}{their}/{verb}/").status_code == 404
    assert Nudge.objects.get(pk=their).status == NudgeStatus.DRAFT


@pytest.mark.parametrize("nudge_id", ["0190a000-0000-7000-8000-000000000000", "abc-123"])
def test_unknown_or_malformed_ids_are_404(world: dict[str, Any], nudge_id: str) -> None:
    assert client_for(world["admin"]).get(f"{URL}{nudge_id}/").status_code == 404


def test_anonymous_callers_and_api_keys_are_refused(world: dict[str, Any]) -> None:
    assert APIClient().get(URL).status_code == 401
    key = key_client("inbox:read", "learners:read")
    assert key.get(URL).status_code == 403
    assert key.post(f"{URL}{world['my_nudge'].pk}/approve/").status_code == 403


# Actions -----------------------------------------------------------------------------------


def test_a_coach_approves_sends_and_the_nudge_is_sent(world: dict[str, Any]) -> None:
    client = client_for(world["coach"])
    nudge = world["my_nudge"]

    approved = client.post(f"{URL}{nudge.pk}/approve/")
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    sent = client.post(f"{URL}{nudge.pk}/send/")

    assert sent.status_code == 200
    assert sent.json()["status"] == "sent" and sent.json()["sent_at"] is not None
    assert OutboxMessage.objects.filter(idempotency_key=f"nudge:{nudge.pk}").count() == 1
    assert AuditEvent.objects.filter(target_id=str(nudge.pk)).count() == 2


def test_a_send_the_policy_refuses_answers_the_suppressed_nudge(world: dict[str, Any]) -> None:
    nudge = make_nudge(learner=LearnerFactory(cohort=world["cohort"], nudge_opt_out=True))
    response = client_for(world["coach"]).post(f"{URL}{nudge.pk}/send/")
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["suppressed_rule"]) == (
        "suppressed",
        "opted_out",
    )


def test_send_at_a_later_time_schedules(world: dict[str, Any]) -> None:
    at = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
    response = client_for(world["coach"]).post(
        f"{URL}{world['my_nudge'].pk}/send/", {"at": at.isoformat()}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["status"] == "scheduled"
    assert response.json()["scheduled_for"].startswith(at.strftime("%Y-%m-%dT%H:%M:%S"))


@pytest.mark.parametrize("at", ["tomorrow", "3000-01-01T00:00:00Z", 12])
def test_a_bad_send_time_is_a_400(world: dict[str, Any], at: Any) -> None:
    response = client_for(world["coach"]).post(
        f"{URL}{world['my_nudge'].pk}/send/", {"at": at}, format="json"
    )
    assert response.status_code == 400 and "at" in response.json()


def test_actions_in_the_wrong_status_are_a_409(world: dict[str, Any]) -> None:
    client = client_for(world["admin"])
    nudge = world["my_nudge"]
    assert client.post(f"{URL}{nudge.pk}/cancel/").json()["status"] == "cancelled"
    for verb in ("approve", "send", "cancel"):
        response = client.post(f"{URL}{nudge.pk}/{verb}/")
        assert response.status_code == 409
        assert "cancelled" in response.json()["status"][0]


def test_sending_twice_through_the_api_sends_once(world: dict[str, Any]) -> None:
    client = client_for(world["coach"])
    nudge = world["my_nudge"]
    assert client.post(f"{URL}{nudge.pk}/send/").status_code == 200
    assert client.post(f"{URL}{nudge.pk}/send/").status_code == 409
    assert OutboxMessage.objects.count() == 1


def test_analysts_cannot_act(world: dict[str, Any]) -> None:
    client = client_for(world["analyst"])
    for verb in ("approve", "send", "cancel"):
        assert client.post(f"{URL}{world['my_nudge'].pk}/{verb}/").status_code == 403
    assert client.post(URL, {}, format="json").status_code == 403


# Manual create -----------------------------------------------------------------------------


def test_a_coach_writes_a_manual_nudge_for_a_learner_of_theirs(world: dict[str, Any]) -> None:
    response = client_for(world["coach"]).post(
        URL,
        {"learner": str(world["mine"].pk), "channel": "email", "subject": "Hi", "body": "Come!"},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["source"] == "manual" and response.json()["status"] == "draft"


@pytest.mark.parametrize(
    "learner",
    [123, "0190a000-0000-7000-8000-000000000000", "theirs"],
    ids=["a number", "an unknown id", "outside the coach's cohorts"],
)
def test_a_manual_nudge_for_a_learner_the_coach_cannot_see_is_a_400(
    world: dict[str, Any], learner: Any
) -> None:
    """A reference in the body is bad input, not a missing resource; one answer for unknown
    and out-of-scope learners, so the coach learns nothing of other cohorts."""
    if learner == "theirs":
        learner = str(world["theirs"].pk)
    response = client_for(world["coach"]).post(
        URL, {"learner": learner, "channel": "in_app", "body": "Come!"}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"learner": ["No learner with this id."]}
    assert not Nudge.objects.filter(source=NudgeSource.MANUAL).exists()


def test_a_manual_nudge_breaking_a_guardrail_is_a_400_naming_field_and_rule(
    world: dict[str, Any], settings: Any
) -> None:
    settings.NUDGE_ALLOWED_LINK_DOMAINS = ["learn.example.org"]
    response = client_for(world["coach"]).post(
        URL,
        {
            "learner": str(world["mine"].pk),
            "channel": "email",
            "subject": "Call 06 12 34 56 78",
            "body": "You are lazy: see https://elsewhere.example.com/",
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {
        "subject": ["No phone numbers: a nudge carries no contact details."],
        "body": [
            "Links only to learn.example.org (or their subdomains).",
            'No shaming or threatening words (such as "lazy", "or else", "last warning").',
        ],
    }
    assert not Nudge.objects.filter(source=NudgeSource.MANUAL).exists()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"channel": "email", "subject": "Hi", "body": "x"}, "learner"),
        ({"learner": "nope", "channel": "email", "subject": "Hi", "body": "x"}, "learner"),
        ({"channel": "sms", "subject": "Hi", "body": "x"}, "channel"),
        ({"channel": "email", "subject": "Hi", "body": 5}, "body"),
        ({"channel": "email", "subject": "Hi"}, "body"),
        ({"channel": "email", "subject": "", "body": "x"}, "subject"),
        ({"channel": "email", "subject": "Hello\r\nBcc: x@evil.test", "body": "x"}, "subject"),
        ({"channel": "email", "subject": "Hi", "body": "x", "category": "spam"}, "category"),
    ],
)
def test_bad_manual_nudges_are_a_400(
    world: dict[str, Any], data: dict[str, Any], field: str
) -> None:
    if field != "learner":
        data = {"learner": str(world["mine"].pk), **data}
    response = client_for(world["admin"]).post(URL, data, format="json")
    assert response.status_code == 400 and field in response.json()


# The inbox and read receipts ---------------------------------------------------------------


def inbox(learner: Any) -> str:
    return f"/api/v1/learners/{learner.pk}/inbox/"


def delivered_in_app(learner: Any, body: str = "Hello") -> Nudge:
    nudge = make_nudge(learner=learner, channel=Channel.IN_APP, body=body)
    nudge_send(nudge=nudge, actor=None)
    outbox_deliver(message_id=OutboxMessage.objects.get(idempotency_key=f"nudge:{nudge.pk}").pk)
    nudge.refresh_from_db()
    return nudge


def test_the_lms_reads_a_learners_inbox_with_an_inbox_key(world: dict[str, Any]) -> None:
    learner = world["mine"]
    delivered = delivered_in_app(learner, "In-app hello")
    make_nudge(learner=learner, channel=Channel.IN_APP)  # a draft: not in the inbox
    make_nudge(learner=learner, channel=Channel.EMAIL, status=NudgeStatus.SENT)  # not in-app

    response = key_client("inbox:read").get(inbox(learner))

    assert response.status_code == 200
    (row,) = response.json()["results"]
    assert row == {
        "id": str(delivered.pk),
        "category": "reengagement",
        "subject": delivered.subject,
        "body": "In-app hello",
        "sent_at": row["sent_at"],
        "read_at": None,
    }


def test_a_read_receipt_marks_the_message_read_once(world: dict[str, Any]) -> None:
    learner = world["mine"]
    nudge = delivered_in_app(learner)
    client = key_client("inbox:read")
    url = f"{inbox(learner)}{nudge.pk}/read/"

    first = client.post(url)
    assert first.status_code == 200 and first.json()["read_at"] is not None
    second = client.post(url)
    assert second.json()["read_at"] == first.json()["read_at"]
    assert AuditEvent.objects.filter(action="nudge.read").count() == 1
    nudge.refresh_from_db()
    assert nudge.read_at is not None


def test_inbox_failures(world: dict[str, Any]) -> None:
    learner = world["mine"]
    nudge = delivered_in_app(learner)
    other = delivered_in_app(world["theirs"])
    reader = key_client("inbox:read")

    assert key_client("learners:read").get(inbox(learner)).status_code == 403
    assert APIClient().get(inbox(learner)).status_code == 401
    assert reader.get("/api/v1/learners/nope/inbox/").status_code == 404
    assert (
        reader.get("/api/v1/learners/0190a000-0000-7000-8000-000000000000/inbox/").status_code
        == 404
    )
    # Another learner's message, a malformed id, an unknown id: not in this inbox.
    for nudge_id in (other.pk, "x", "0190a000-0000-7000-8000-000000000000"):
        assert reader.post(f"{inbox(learner)}{nudge_id}/read/").status_code == 404
    # Staff may look (in scope) but only the learner's platform records reads.
    coach = client_for(world["coach"])
    assert coach.get(inbox(learner)).status_code == 200
    assert coach.get(inbox(world["theirs"])).status_code == 404
    assert coach.post(f"{inbox(learner)}{nudge.pk}/read/").status_code == 403
    assert client_for(world["analyst"]).get(inbox(learner)).status_code == 403
    nudge.refresh_from_db()
    assert nudge.read_at is None


def test_an_erased_learners_inbox_lists_nothing_and_takes_no_receipt(
    world: dict[str, Any], settings: Any
) -> None:
    settings.NUDGE_MAX_PER_WEEK, settings.NUDGE_MIN_GAP_HOURS = 2, 0
    learner = world["mine"]
    read, unread = delivered_in_app(learner, "First"), delivered_in_app(learner, "Second")
    reader = key_client("inbox:read")
    assert reader.post(f"{inbox(learner)}{read.pk}/read/").status_code == 200

    erased = client_for(world["admin"]).post(f"/api/v1/learners/{learner.pk}/erase/")

    assert erased.status_code == 200
    listed = reader.get(inbox(learner))
    assert listed.status_code == 200 and listed.json()["results"] == []
    for nudge in (read, unread):
        assert reader.post(f"{inbox(learner)}{nudge.pk}/read/").status_code == 404
    # The rows stay, emptied, for counts and rates.
    rows = Nudge.objects.filter(pk__in=[read.pk, unread.pk])
    assert set(rows.values_list("status", "body")) == {(NudgeStatus.SENT, "")}
