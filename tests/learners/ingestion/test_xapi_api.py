"""The xAPI statements endpoint, through DRF's test client and through a stock xAPI client."""

import base64
import copy
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient
from tincan import (
    Activity,
    ActivityDefinition,
    Agent,
    AgentAccount,
    LanguageMap,
    RemoteLRS,
    Result,
    Score,
    Statement,
    Verb,
)

from engagement.api_keys import api_key_create
from engagement.errors import ValidationFailed
from learners.ingestion import xapi_statements
from learners.ingestion.xapi_comparison import legacy_statement_digest
from learners.models import ActivityEvent, Cohort, EventKind, Learner
from learners.scopes import ApiKeyScope
from learners.services import learner_prepare

STATEMENTS = "/api/v1/xapi/statements"
ABOUT = "/api/v1/xapi/about"
VERSION = {"HTTP_X_EXPERIENCE_API_VERSION": "1.0.3"}
ADL = "http://adlnet.gov/expapi/verbs/"
HOME = "https://lms.example.edu"
PASSWORD = "a-Strong-pass-123"
VIEWED = "http://id.tincanapi.com/verb/viewed"


def make_learner(external_id: str, *, source: str = "lms.example.edu", email: str = "") -> Learner:
    cohort, _ = Cohort.objects.get_or_create(
        name="xAPI cohort", defaults={"starts_on": date(2026, 9, 1)}
    )
    learner = Learner(
        source=source,
        external_id=external_id,
        cohort=cohort,
        email=email,
        enrolled_at=datetime(2026, 9, 1, tzinfo=UTC),
    )
    learner_prepare(learner)
    learner.save()
    return learner


def statement(name: str = "u-1", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "actor": {"objectType": "Agent", "account": {"homePage": HOME, "name": name}},
        "verb": {"id": f"{ADL}completed"},
        "object": {"objectType": "Activity", "id": f"{HOME}/course/1/lesson/3"},
        "timestamp": (timezone.now() - timedelta(hours=1)).isoformat(),
        "result": {"score": {"scaled": 0.75}, "duration": "PT10M"},
    }
    body.update(overrides)
    return body


@pytest.fixture
def learner(db: None) -> Learner:
    return make_learner("u-1")


@pytest.fixture
def xapi_client(auth_client: APIClient) -> APIClient:
    auth_client.credentials(**VERSION)
    return auth_client


def xapi_events() -> list[ActivityEvent]:
    return list(ActivityEvent.objects.filter(source="xapi").order_by("occurred_at"))


# Protocol: authentication, version header, about -----------------------------------------------


@pytest.mark.django_db
def test_requires_authentication(api_client: APIClient) -> None:
    api_client.credentials(**VERSION)
    for response in (
        api_client.post(STATEMENTS, statement(), format="json"),
        api_client.put(f"{STATEMENTS}?statementId={uuid.uuid4()}", statement(), format="json"),
        api_client.get(ABOUT),
    ):
        assert response.status_code == 401
        assert response["WWW-Authenticate"].startswith("Basic")
        assert response["X-Experience-API-Version"] == "1.0.3"


@pytest.mark.parametrize("header", [None, "0.95", "2.0.0"])
def test_statements_need_a_1_0_version_header(
    auth_client: APIClient, learner: Learner, header: str | None
) -> None:
    extra = {} if header is None else {"HTTP_X_EXPERIENCE_API_VERSION": header}
    response = auth_client.post(STATEMENTS, statement(), format="json", **extra)
    assert response.status_code == 400
    assert "1.0.x" in response.json()["X-Experience-API-Version"][0]
    assert response["X-Experience-API-Version"] == "1.0.3"
    assert xapi_events() == []


def test_about_lists_the_version(auth_client: APIClient) -> None:
    response = auth_client.get(ABOUT)
    assert response.status_code == 200
    assert response.json() == {"version": ["1.0.3"]}
    assert response["X-Experience-API-Version"] == "1.0.3"


def test_http_basic_authentication(api_client: APIClient, user: Any, learner: Learner) -> None:
    token = base64.b64encode(f"{user.username}:{PASSWORD}".encode()).decode()
    api_client.credentials(HTTP_AUTHORIZATION=f"Basic {token}", **VERSION)
    assert api_client.post(STATEMENTS, statement(), format="json").status_code == 200
    wrong = base64.b64encode(f"{user.username}:wrong".encode()).decode()
    api_client.credentials(HTTP_AUTHORIZATION=f"Basic {wrong}", **VERSION)
    assert api_client.post(STATEMENTS, statement(), format="json").status_code == 401


def test_http_basic_is_covered_by_the_login_lockout(
    api_client: APIClient, user: Any, learner: Learner, settings: Any
) -> None:
    def basic(password: str) -> str:
        return "Basic " + base64.b64encode(f"{user.username}:{password}".encode()).decode()

    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        api_client.credentials(HTTP_AUTHORIZATION=basic("wrong"), **VERSION)
        assert api_client.post(STATEMENTS, statement(), format="json").status_code == 401
    api_client.credentials(HTTP_AUTHORIZATION=basic(PASSWORD), **VERSION)
    assert api_client.post(STATEMENTS, statement(), format="json").status_code == 401
    assert xapi_events() == []


def test_http_basic_with_an_api_key_as_password(api_client: APIClient, learner: Learner) -> None:
    issued = api_key_create(name="LMS", scopes=[ApiKeyScope.XAPI_WRITE], created_by=None)
    token = base64.b64encode(f"lms:{issued.secret}".encode()).decode()
    api_client.credentials(HTTP_AUTHORIZATION=f"Basic {token}", **VERSION)
    assert api_client.post(STATEMENTS, statement(), format="json").status_code == 200
    assert len(xapi_events()) == 1
    wrong = base64.b64encode(f"lms:{issued.secret}x".encode()).decode()
    api_client.credentials(HTTP_AUTHORIZATION=f"Basic {wrong}", **VERSION)
    assert api_client.post(STATEMENTS, statement(), format="json").status_code == 401


def test_only_admins_and_xapi_keys_may_write(
    api_client: APIClient, django_user_model: Any, learner: Learner
) -> None:
    coach = django_user_model.objects.create_user(username="coach", password=PASSWORD)
    api_client.credentials(**VERSION)
    api_client.force_authenticate(coach)
    assert api_client.post(STATEMENTS, statement(), format="json").status_code == 403
    assert api_client.get(ABOUT).status_code == 200
    api_client.force_authenticate(None)
    issued = api_key_create(name="LMS", scopes=[ApiKeyScope.EVENTS_WRITE], created_by=None)
    token = base64.b64encode(f"lms:{issued.secret}".encode()).decode()
    api_client.credentials(HTTP_AUTHORIZATION=f"Basic {token}", **VERSION)
    assert api_client.post(STATEMENTS, statement(), format="json").status_code == 403
    assert xapi_events() == []


def test_only_json_bodies(xapi_client: APIClient, learner: Learner) -> None:
    response = xapi_client.post(STATEMENTS, "actor=u-1", content_type="text/plain")
    assert response.status_code == 415


# Storing statements ----------------------------------------------------------------------------


def test_post_one_statement(xapi_client: APIClient, learner: Learner) -> None:
    body = statement()
    response = xapi_client.post(STATEMENTS, body, format="json")
    assert response.status_code == 200, response.json()
    assert response.json() == [body["id"]]
    [event] = xapi_events()
    assert event.learner_id == learner.id
    assert event.source_event_id == body["id"]
    assert event.kind == EventKind.LESSON_COMPLETED
    assert (event.duration_seconds, event.score) == (600, 0.75)
    assert event.occurred_at == datetime.fromisoformat(body["timestamp"])
    assert event.metadata["xapi"]["verb"] == f"{ADL}completed"
    assert event.metadata["xapi"]["object"] == f"{HOME}/course/1/lesson/3"
    learner.refresh_from_db()
    assert learner.last_active_at == event.occurred_at


def test_post_an_array_answers_the_ids_in_order(xapi_client: APIClient, learner: Learner) -> None:
    with_id = statement(verb={"id": f"{ADL}launched"})
    without_id = statement(verb={"id": f"{ADL}experienced"})
    del without_id["id"]
    response = xapi_client.post(STATEMENTS, [with_id, without_id], format="json")
    assert response.status_code == 200, response.json()
    ids = response.json()
    assert ids[0] == with_id["id"]
    assert uuid.UUID(ids[1]).version == 4
    stored = dict(ActivityEvent.objects.values_list("source_event_id", "kind"))
    assert stored == {ids[0]: EventKind.LOGIN, ids[1]: EventKind.CONTENT_VIEW}


def test_put_stores_under_the_statement_id(xapi_client: APIClient, learner: Learner) -> None:
    statement_id = str(uuid.uuid4())
    body = statement()
    del body["id"]
    response = xapi_client.put(f"{STATEMENTS}?statementId={statement_id}", body, format="json")
    assert response.status_code == 204
    assert response.content == b""
    assert response["X-Experience-API-Version"] == "1.0.3"
    assert [event.source_event_id for event in xapi_events()] == [statement_id]


@pytest.mark.parametrize(
    ("query", "body", "field"),
    [
        ("", statement(), "statementId"),
        ("?statementId=", statement(), "statementId"),
        ("?statementId=not-a-uuid", statement(), "statementId"),
        (f"?statementId={uuid.uuid4()}", [statement()], "rejected"),
        (f"?statementId={uuid.uuid4()}", statement(), "rejected"),
    ],
)
def test_put_refuses_a_missing_or_mismatched_id(
    xapi_client: APIClient, learner: Learner, query: str, body: Any, field: str
) -> None:
    response = xapi_client.put(f"{STATEMENTS}{query}", body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert xapi_events() == []


def test_re_sending_is_idempotent(xapi_client: APIClient, learner: Learner) -> None:
    body = statement()
    first = xapi_client.post(STATEMENTS, body, format="json")
    # Same statement, as a client re-sends it: other key order, LRS-set properties added.
    again = {
        **dict(reversed(list(body.items()))),
        "version": "1.0.3",
        "stored": "2026-01-01T00:00:00Z",
    }
    second = xapi_client.post(STATEMENTS, [again], format="json")
    put = xapi_client.put(f"{STATEMENTS}?statementId={body['id'].upper()}", body, format="json")
    assert (first.status_code, second.status_code, put.status_code) == (200, 200, 204)
    assert first.json() == second.json() == [body["id"]]
    assert len(xapi_events()) == 1


def test_a_stored_id_with_different_content_is_a_conflict(
    xapi_client: APIClient, learner: Learner
) -> None:
    body = statement()
    xapi_client.post(STATEMENTS, body, format="json")
    changed = {**body, "result": {"score": {"scaled": 0.1}}}
    innocent = statement()
    response = xapi_client.post(STATEMENTS, [innocent, changed], format="json")
    assert response.status_code == 409
    assert response.json()["ids"] == [body["id"]]
    put = xapi_client.put(f"{STATEMENTS}?statementId={body['id']}", changed, format="json")
    assert put.status_code == 409
    [event] = xapi_events()
    assert event.score == 0.75
    assert not ActivityEvent.objects.filter(source_event_id=innocent["id"]).exists()


@pytest.mark.parametrize("repeat", ["exact", "changed"])
def test_one_id_twice_in_a_batch_is_refused_naming_it(
    xapi_client: APIClient, learner: Learner, repeat: str
) -> None:
    body = statement()
    again = body if repeat == "exact" else {**body, "verb": {"id": f"{ADL}passed"}}
    response = xapi_client.post(STATEMENTS, [statement(), body, again], format="json")
    assert response.status_code == 400
    [rejected] = response.json()["rejected"]
    assert rejected["index"] == 2
    [message] = rejected["errors"]["id"]
    assert f"'{body['id']}' appears more than once in this batch (first at index 1)" in message
    assert xapi_events() == []


def test_a_batch_with_bad_statements_is_refused_whole(
    xapi_client: APIClient, learner: Learner
) -> None:
    batch = [
        statement(),
        statement(verb={"id": "pondered"}),
        statement(),
        statement(name="nobody"),
        "not a statement",
    ]
    response = xapi_client.post(STATEMENTS, batch, format="json")
    assert response.status_code == 400
    rejected = response.json()["rejected"]
    assert [row["index"] for row in rejected] == [1, 3, 4]
    assert "'pondered' is not an IRI" in rejected[0]["errors"]["verb"][0]
    assert "No learner with external id 'nobody'" in rejected[1]["errors"]["actor"][0]
    assert "non_field_errors" in rejected[2]["errors"]
    assert xapi_events() == []


# Real feeds: many verbs, renamed courses, reformatted timestamps ---------------------------------

MOODLE_VERBS = {
    f"{ADL}experienced": EventKind.CONTENT_VIEW,
    f"{ADL}completed": EventKind.LESSON_COMPLETED,
    "http://id.tincanapi.com/verb/viewed": EventKind.OTHER,
    "https://w3id.org/xapi/dod-isd/verbs/answered": EventKind.OTHER,
    "http://id.tincanapi.com/verb/downloaded": EventKind.OTHER,
    "https://w3id.org/xapi/video/verbs/paused": EventKind.OTHER,
    f"{ADL}terminated": EventKind.OTHER,
}


def moodle_statement(verb: str, **overrides: Any) -> dict[str, Any]:
    """Shaped like Moodle's logstore_xapi output: display maps and activity definitions."""
    return statement(
        verb={"id": verb, "display": {"en": verb.rsplit("/", 1)[-1]}},
        object={
            "objectType": "Activity",
            "id": f"{HOME}/course/view.php?id=42",
            "definition": {
                "type": "http://id.tincanapi.com/activitytype/lms/course",
                "name": {"en": "Statistics 101"},
            },
        },
        context={
            "platform": "Moodle",
            "contextActivities": {"grouping": [{"id": HOME, "definition": {"name": {"en": "U"}}}]},
        },
        result={"duration": "PT3M"},
        **overrides,
    )


def test_a_feed_mixing_many_verbs_is_stored_whole(xapi_client: APIClient, learner: Learner) -> None:
    batch = [moodle_statement(verb) for verb in MOODLE_VERBS]
    response = xapi_client.post(STATEMENTS, batch, format="json")
    assert response.status_code == 200, response.json()
    assert response.json() == [body["id"] for body in batch]
    stored = {event.source_event_id: event for event in xapi_events()}
    assert {event.metadata["xapi"]["verb"]: event.kind for event in stored.values()} == MOODLE_VERBS
    assert all(event.learner_id == learner.id for event in stored.values())
    learner.refresh_from_db()
    assert learner.risk_stale
    assert learner.last_active_at == max(event.occurred_at for event in stored.values())


def test_a_verb_that_is_not_an_iri_refuses_the_batch_naming_the_statement(
    xapi_client: APIClient, learner: Learner
) -> None:
    batch = [moodle_statement(verb) for verb in MOODLE_VERBS]
    batch.insert(2, moodle_statement("viewed"))
    response = xapi_client.post(STATEMENTS, batch, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "rejected": [
            {
                "index": 2,
                "errors": {
                    "verb": [
                        f"'viewed' is not an IRI: a verb id is absolute, such as {ADL}completed."
                    ]
                },
            }
        ]
    }
    assert xapi_events() == []


def test_re_sending_a_renamed_course_or_reformatted_time_matches(
    xapi_client: APIClient, learner: Learner
) -> None:
    at = timezone.now().replace(microsecond=0) - timedelta(hours=1)
    body = moodle_statement("http://id.tincanapi.com/verb/viewed", timestamp=at.isoformat())
    assert xapi_client.post(STATEMENTS, body, format="json").status_code == 200
    renamed = copy.deepcopy(body)
    renamed["object"]["definition"]["name"] = {"en": "Statistics 101 (new edition)"}
    renamed["context"]["contextActivities"]["grouping"][0]["definition"] = {}
    renamed["verb"]["display"] = {"en-GB": "viewed", "fr": "a consulté"}
    reformatted = {
        **body,
        "timestamp": at.astimezone(ZoneInfo("America/St_Johns")).isoformat(timespec="milliseconds"),
        "id": body["id"].upper(),
    }
    post = xapi_client.post(STATEMENTS, [renamed], format="json")
    put = xapi_client.put(f"{STATEMENTS}?statementId={body['id']}", reformatted, format="json")
    assert (post.status_code, put.status_code) == (200, 204), post.json()
    [event] = xapi_events()
    assert event.occurred_at == at
    changed = {**body, "result": {"duration": "PT4M"}}
    conflict = xapi_client.put(f"{STATEMENTS}?statementId={body['id']}", changed, format="json")
    assert conflict.status_code == 409
    assert conflict.json()["ids"] == [body["id"]]


def test_statements_stored_under_the_former_hash_still_match_their_re_send(
    xapi_client: APIClient, learner: Learner
) -> None:
    body = moodle_statement(f"{ADL}experienced")
    xapi_client.post(STATEMENTS, body, format="json")
    [event] = xapi_events()
    event.metadata["xapi"]["hash"] = legacy_statement_digest(body, body["id"])
    event.save(update_fields=["metadata"])
    assert xapi_client.post(STATEMENTS, body, format="json").status_code == 200
    changed = {**body, "result": {"duration": "PT9M"}}
    assert xapi_client.post(STATEMENTS, changed, format="json").status_code == 409


def test_empty_and_oversized_batches_are_refused(
    xapi_client: APIClient, learner: Learner, settings: Any
) -> None:
    settings.INGEST_MAX_EVENTS = 2
    assert xapi_client.post(STATEMENTS, [], format="json").status_code == 400
    response = xapi_client.post(STATEMENTS, [statement() for _ in range(3)], format="json")
    assert response.status_code == 400
    assert "At most 2" in response.json()["non_field_errors"][0]


# Actor resolution ------------------------------------------------------------------------------


def test_account_matches_home_page_as_source_before_host(
    xapi_client: APIClient, learner: Learner
) -> None:
    by_home_page = make_learner("u-1", source=HOME)
    other_host = make_learner("u-2")
    batch = [statement("u-1"), statement("u-2")]
    assert xapi_client.post(STATEMENTS, batch, format="json").status_code == 200
    owners = dict(ActivityEvent.objects.values_list("source_event_id", "learner_id"))
    assert owners == {batch[0]["id"]: by_home_page.id, batch[1]["id"]: other_host.id}


def test_mbox_matches_one_learner_by_email_ignoring_case(xapi_client: APIClient, db: None) -> None:
    ada = make_learner("ada", email="Ada@Example.org")
    body = statement(actor={"mbox": "mailto:ada@EXAMPLE.org"})
    assert xapi_client.post(STATEMENTS, body, format="json").status_code == 200
    assert [event.learner_id for event in xapi_events()] == [ada.id]


@pytest.mark.parametrize(
    ("emails", "reason"),
    [([], "No learner has"), (["twin@example.org", "TWIN@example.org"], "2 learners share")],
)
def test_mbox_must_match_exactly_one_learner(
    xapi_client: APIClient, db: None, emails: list[str], reason: str
) -> None:
    for n, email in enumerate(emails):
        make_learner(f"twin-{n}", email=email)
    body = statement(actor={"mbox": "mailto:twin@example.org"})
    response = xapi_client.post(STATEMENTS, body, format="json")
    assert response.status_code == 400
    message = response.json()["rejected"][0]["errors"]["actor"][0]
    assert reason in message
    assert "twin@" not in message


def test_queries_do_not_grow_with_the_batch(xapi_client: APIClient, db: None) -> None:
    for n in range(12):
        make_learner(f"q-{n}", email=f"q-{n}@example.org")

    def batch(names: range) -> list[dict[str, Any]]:
        return [
            statement(f"q-{n}") if n % 2 else statement(actor={"mbox": f"mailto:q-{n}@example.org"})
            for n in names
        ]

    with CaptureQueriesContext(connection) as small:
        assert xapi_client.post(STATEMENTS, batch(range(2)), format="json").status_code == 200
    with CaptureQueriesContext(connection) as large:
        assert xapi_client.post(STATEMENTS, batch(range(2, 12)), format="json").status_code == 200
    assert len(large.captured_queries) == len(small.captured_queries)


def test_a_put_carries_exactly_one_statement(learner: Learner) -> None:
    with pytest.raises(ValidationFailed) as refused:
        xapi_statements.xapi_statements_ingest(
            statements=[statement(), statement()], statement_id=str(uuid.uuid4())
        )
    assert "exactly one" in refused.value.detail["non_field_errors"][0]


def test_a_learner_gone_before_the_insert_rolls_the_batch_back(
    learner: Learner, monkeypatch: pytest.MonkeyPatch
) -> None:
    batch = [statement(), statement()]

    def resolved_then_deleted(parsed: Any, rejected: Any) -> dict[int, uuid.UUID]:
        return {0: learner.id, 1: uuid.uuid4()}

    monkeypatch.setattr(xapi_statements, "_resolve_actors", resolved_then_deleted)
    with pytest.raises(ValidationFailed) as refused:
        xapi_statements.xapi_statements_ingest(statements=batch)
    assert [row["index"] for row in refused.value.detail["rejected"]] == [1]
    assert xapi_events() == []


# End to end with a stock xAPI client -----------------------------------------------------------


def tincan_statement(name: str, verb: str, **extra: Any) -> Statement:
    return Statement(
        actor=Agent(name="A learner", account=AgentAccount(home_page=HOME, name=name)),
        verb=Verb(id=f"{ADL}{verb}"),
        object=Activity(id=f"{HOME}/course/1/quiz/2"),
        timestamp=timezone.now() - timedelta(minutes=30),
        **extra,
    )


def lrs_password(credential: str, django_user_model: Any) -> str:
    """The Basic password an LMS would be configured with: an admin's, or an xAPI API key."""
    if credential == "user":
        django_user_model.objects.create_user(username="lms-bot", password=PASSWORD, role="admin")
        return PASSWORD
    return api_key_create(name="LMS", scopes=[ApiKeyScope.XAPI_WRITE], created_by=None).secret


@pytest.mark.parametrize("credential", ["user", "api_key"])
@pytest.mark.django_db(transaction=True)
def test_tincan_remote_lrs_can_send_statements(
    live_server: Any, django_user_model: Any, credential: str
) -> None:
    password = lrs_password(credential, django_user_model)
    learner = make_learner("u-7")
    lrs = RemoteLRS(
        endpoint=f"{live_server.url}/api/v1/xapi/",
        username="lms-bot",
        password=password,
        version="1.0.3",
    )

    about = lrs.about()
    assert about.success, about.data
    assert "1.0.3" in about.content.version

    passed = tincan_statement("u-7", "passed", result=Result(score=Score(scaled=0.9)))
    response = lrs.save_statement(passed)
    assert response.success, response.data
    assert passed.id is not None

    known_id = uuid.uuid4()
    put = lrs.save_statement(tincan_statement("u-7", "attempted", id=known_id))
    assert put.success, put.data

    batch = [tincan_statement("u-7", "answered"), tincan_statement("u-7", "failed")]
    saved = lrs.save_statements(batch)
    assert saved.success, saved.data

    events = {
        event.source_event_id: event for event in ActivityEvent.objects.filter(learner=learner)
    }
    assert set(events) == {str(passed.id), str(known_id), *(str(s.id) for s in batch)}
    assert events[str(passed.id)].kind == EventKind.ASSESSMENT_PASSED
    assert events[str(passed.id)].score == 0.9
    assert events[str(known_id)].kind == EventKind.ASSESSMENT_STARTED
    assert [events[str(s.id)].kind for s in batch] == [
        EventKind.ASSESSMENT_SUBMITTED,
        EventKind.ASSESSMENT_FAILED,
    ]

    refused = lrs.save_statement(tincan_statement("stranger", "passed"))
    assert not refused.success
    assert refused.response.status == 400

    # A verb outside the table, re-sent after the course was renamed: stored once, as `other`.
    def viewed(course_name: str) -> Statement:
        return Statement(
            id=known_id_viewed,
            actor=Agent(account=AgentAccount(home_page=HOME, name="u-7")),
            verb=Verb(id=VIEWED, display=LanguageMap({"en-US": "viewed"})),
            object=Activity(
                id=f"{HOME}/course/1",
                definition=ActivityDefinition(name=LanguageMap({"en-US": course_name})),
            ),
            timestamp=timezone.now() - timedelta(minutes=5),
        )

    known_id_viewed = uuid.uuid4()
    first = viewed("Statistics 101")
    assert lrs.save_statements([first]).success
    renamed = viewed("Statistics 101, second edition")
    renamed.timestamp = first.timestamp
    again = lrs.save_statement(renamed)
    assert again.success, again.data
    event = ActivityEvent.objects.get(source_event_id=str(known_id_viewed))
    assert (event.kind, event.metadata["xapi"]["verb"]) == (EventKind.OTHER, VIEWED)
