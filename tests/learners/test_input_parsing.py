"""One reading of numbers, dates and time zones on every door (issue 8, round 2).

Non-finite numbers are refused where JSON is parsed and where it is stored; dates are ASCII
ISO 8601 with nothing around them; time zones are portable IANA names; ingestion counts as a
duplicate only what is already stored.
"""

import uuid
from datetime import UTC, date, datetime, timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.contrib.admin import site
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st
from rest_framework.test import APIClient

from engagement.admin_fields import StrictSplitDateTimeFormField
from engagement.input_bounds import check_timezone, parse_date, parse_datetime
from engagement.models import ApiKey
from learners.ingestion.events import EventRecord, LearnerRef, parse_event
from learners.ingestion.xapi import parse_statement
from learners.models import ActivityEvent, Cohort, Learner, RiskFeedback
from learners.services import NOT_STORED, events_store
from tests.factories import ActivityEventFactory, CohortFactory, LearnerFactory, UserFactory

pytestmark = pytest.mark.django_db

EVENTS = "/api/v1/events/"
STATEMENTS = "/api/v1/xapi/statements"
XAPI_VERSION = {"HTTP_X_EXPERIENCE_API_VERSION": "1.0.3"}
HOME = "https://lms.example.edu"


def post_json(client: APIClient, url: str, raw: str, **extra: Any) -> Any:
    return client.generic("POST", url, raw, content_type="application/json", **extra)


def event_json(learner: Learner, metadata: str) -> str:
    now = (timezone.now() - timedelta(hours=1)).isoformat()
    return (
        f'[{{"learner_id":"{learner.id}","source":"fzq","source_event_id":"{uuid.uuid4()}",'
        f'"kind":"login","occurred_at":"{now}","metadata":{metadata}}}]'
    )


# Non-finite numbers -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "number", ["1e309", "-1e309", "NaN", "Infinity", "-Infinity", "123456789e999"]
)
def test_events_with_non_finite_numbers_are_a_400_and_store_nothing(
    auth_client: APIClient, number: str
) -> None:
    learner = LearnerFactory()
    response = post_json(auth_client, EVENTS, event_json(learner, f'{{"n":[1,{{"m":{number}}}]}}'))
    assert response.status_code == 400, response.content
    assert "numbers must be finite" in response.json()["detail"]
    assert not ActivityEvent.objects.exists()


@pytest.mark.parametrize("raw", ['{"kind":"acknowledged","note":1e309}', '{"kind":NaN}'])
def test_feedback_with_non_finite_numbers_is_a_400(auth_client: APIClient, raw: str) -> None:
    learner = LearnerFactory()
    response = post_json(auth_client, f"/api/v1/learners/{learner.id}/risk/feedback/", raw)
    assert response.status_code == 400
    assert "numbers must be finite" in response.json()["detail"]
    assert not RiskFeedback.objects.exists()


@pytest.mark.parametrize("note", [5, 1.5, True])
def test_free_text_fields_refuse_numbers_and_booleans(auth_client: APIClient, note: Any) -> None:
    learner = LearnerFactory()
    response = auth_client.post(
        f"/api/v1/learners/{learner.id}/risk/feedback/",
        {"kind": "acknowledged", "note": note},
        format="json",
    )
    assert response.status_code == 400
    assert "Must be text" in response.json()["note"][0]
    response = auth_client.post(
        "/api/v1/cohorts/", {"name": note, "starts_on": "2026-01-05"}, format="json"
    )
    assert response.status_code == 400
    assert "Must be text" in response.json()["name"][0]
    assert not RiskFeedback.objects.exists()


@pytest.mark.parametrize("number", [float("inf"), float("-inf"), float("nan")])
def test_storable_json_checks_refuse_non_finite_floats(number: float) -> None:
    now = timezone.now()
    item = {
        "learner_id": str(uuid.uuid4()),
        "source": "lms",
        "source_event_id": "e-1",
        "kind": "login",
        "occurred_at": now.isoformat(),
        "metadata": {"deep": [{"n": number}]},
    }
    _, errors = parse_event(item, now=now)
    assert errors["metadata"] == ["metadata.deep[0].n is not a finite number."]
    statement = {
        "actor": {"objectType": "Agent", "account": {"homePage": HOME, "name": "u-1"}},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
        "object": {"objectType": "Activity", "id": f"{HOME}/course/1"},
        "context": {"extensions": {f"{HOME}/x": number}},
    }
    _, errors = parse_statement(statement, now=now)
    assert "is not a finite number" in errors["context"][0]
    with pytest.raises(ValidationError, match="not a finite number"):
        ActivityEventFactory.build(metadata={"n": number}).clean_fields(exclude=["learner"])


# Exact accounting of a batch ---------------------------------------------------------------------


def test_an_event_the_database_skips_is_refused_not_counted_as_a_duplicate() -> None:
    learner = LearnerFactory()
    stored = ActivityEventFactory(learner=learner, source="lms", source_event_id="old")
    at = datetime(2026, 3, 1, tzinfo=UTC)

    def record(event_id: str, **values: Any) -> EventRecord:
        ref = LearnerRef(learner_id=learner.id)
        return EventRecord(ref, "login", at, "lms", event_id, **values)

    records = [
        (0, record("new")),
        (1, record(stored.source_event_id)),
        (2, record("new")),
        (3, record("unstorable", metadata={"n": float("inf")})),
    ]
    if connection.vendor != "sqlite":
        # PostgreSQL refuses the whole statement instead of skipping the row: an error, not a count.
        with pytest.raises(DatabaseError):
            events_store(records=records)
        return
    report = events_store(records=records)
    assert (report.accepted, report.duplicates) == (1, 2)
    assert report.rejected == [{"index": 3, "errors": {"non_field_errors": [NOT_STORED]}}]
    assert set(ActivityEvent.objects.values_list("source_event_id", flat=True)) == {"old", "new"}


# Dates and date-times ----------------------------------------------------------------------------

NOT_ISO_DATETIMES = [
    "\u0662\u0660\u0662\u0666-\u0661\u0661-\u0662\u0660T00:00:00Z",
    "\uff12\uff10\uff12\uff16-11-20T00:00:00Z",
    "2026-01-01T00:00:00Z\x00",
    "2026-01-01T00:00:00Z\n",
    " 2026-01-01T00:00:00Z",
    "2026-01-01T00:00:00Z ",
    "2026-01-01T00:00:00Z\x1f",
    "20260101T000000Z",
    "2026-W01-1",
    "2026-01-01T00:00:00Zjunk",
    "2026-11-01T00:00:00+00:60",
    "2026-11-01T00:00:00-05:75",
]
NOT_ISO_DATES = [
    "\u0662\u0660\u0662\u0666-\u0661\u0661-\u0662\u0660",
    "\uff12\uff10\uff12\uff16-11-20",
    "2026-11-20\x00",
    "2026-11-20\n",
    "20261120",
    " 2026-11-20",
]


@pytest.mark.parametrize("text", NOT_ISO_DATETIMES)
def test_the_shared_parser_refuses_what_is_not_ascii_iso_8601(text: str) -> None:
    with pytest.raises(ValueError, match="is not an ISO 8601 date-time"):
        parse_datetime(text)


@pytest.mark.parametrize("text", NOT_ISO_DATES)
def test_the_shared_date_parser_refuses_what_is_not_ascii_iso_8601(text: str) -> None:
    with pytest.raises(ValueError, match="is not an ISO 8601 date"):
        parse_date(text)


@given(st.text(min_size=1, max_size=3), st.booleans())
def test_anything_around_a_valid_date_time_is_refused(extra: str, before: bool) -> None:
    text = f"{extra}2026-01-01T00:00:00Z" if before else f"2026-01-01T00:00:00Z{extra}"
    try:
        parsed = parse_datetime(text)
    except ValueError:
        return
    assert text.isascii() and text.isprintable()  # e.g. "02026-01-01..." is still refused above
    assert parsed.year == 2026


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-02t00:22:47.123456z", datetime(2026, 12, 2, 0, 22, 47, 123456, tzinfo=UTC)),
        ("2026-12-02T00:22:47.1234567Z", datetime(2026, 12, 2, 0, 22, 47, 123456, tzinfo=UTC)),
        ("2026-12-02 01:22:47+01:00", datetime(2026, 12, 2, 0, 22, 47, tzinfo=UTC)),
        ("2026-12-02T01:22+0100", datetime(2026, 12, 2, 0, 22, tzinfo=UTC)),
        ("2026-12-02T00:22:47", datetime(2026, 12, 2, 0, 22, 47, tzinfo=UTC)),
        ("2026-12-02", datetime(2026, 12, 2, tzinfo=UTC)),
    ],
)
def test_the_shared_parser_reads_iso_8601_and_rfc_3339(text: str, expected: datetime) -> None:
    assert parse_datetime(text) == expected


def _import(tmp_path: Path, command: str, text: str) -> str:
    path = tmp_path / "file.csv"
    path.write_text(text)
    err = StringIO()
    with pytest.raises(CommandError, match="No row could be imported"):
        call_command(command, str(path), stdout=StringIO(), stderr=err)
    return err.getvalue()


@pytest.mark.parametrize("text", NOT_ISO_DATETIMES)
def test_every_door_refuses_the_same_date_times(
    auth_client: APIClient, rules_model: Any, tmp_path: Path, text: str
) -> None:
    cohort = CohortFactory(starts_on=date(2025, 1, 5))
    learner = LearnerFactory(cohort=cohort, source="lms", external_id="u1")
    response = auth_client.post(
        EVENTS,
        [
            {
                "learner_id": str(learner.id),
                "source": "lms",
                "source_event_id": "e1",
                "kind": "login",
                "occurred_at": text,
            }
        ],
        format="json",
    )
    assert response.status_code == 400 and "occurred_at" in response.json()["rejected"][0]["errors"]
    body = {"cohort": str(cohort.id), "source": "lms", "external_id": "x-2", "status": "completed"}
    for field in ("enrolled_at", "finished_at"):
        dates = {"enrolled_at": "2026-01-01T00:00:00Z", "finished_at": "2026-02-01T00:00:00Z"}
        response = auth_client.post(
            "/api/v1/learners/", {**body, **dates, field: text}, format="json"
        )
        assert response.status_code == 400 and field in response.json(), response.content
    response = auth_client.patch(
        f"/api/v1/learners/{learner.id}/", {"enrolled_at": text}, format="json"
    )
    assert response.status_code == 400 and "enrolled_at" in response.json()
    response = auth_client.post("/api/v1/risk/rescore/", {"as_of": text}, format="json")
    assert response.status_code == 400 and "as_of" in response.json()
    response = auth_client.get("/api/v1/audit-events/", {"since": text})
    assert response.status_code == 400 and "since" in response.json()
    with pytest.raises(CommandError, match="--as-of"):
        call_command("rescore", "--as-of", text)
    header = "learner_external_id,source,kind,occurred_at,duration_seconds,score,source_event_id"
    csv_text = text.replace("\n", "\\n")  # a newline would end the CSV line instead
    err = _import(tmp_path, "import_activity", f'{header}\nu1,lms,login,"{csv_text}",,,a1\n')
    assert "line 2: occurred_at:" in err
    err = _import(
        tmp_path,
        "import_learners",
        f'external_id,source,cohort,enrolled_at,status,finished_at,name,email\nu2,lms,C,"{csv_text}",active,,,\n',
    )
    assert "line 2: enrolled_at:" in err
    assert not ActivityEvent.objects.exists()
    assert Learner.objects.count() == 1


@pytest.mark.parametrize("text", NOT_ISO_DATES)
def test_every_door_refuses_the_same_dates(auth_client: APIClient, text: str) -> None:
    for field in ("starts_on", "ends_on"):
        body = {"name": "C", "starts_on": "2026-01-05", field: text}
        response = auth_client.post("/api/v1/cohorts/", body, format="json")
        assert response.status_code == 400 and field in response.json(), response.content
    with pytest.raises(CommandError, match="--today"):
        call_command("seed_demo", "--today", text, stdout=StringIO())
    assert not Cohort.objects.exists()


def test_lower_case_t_and_z_are_accepted_on_every_door(auth_client: APIClient) -> None:
    cohort = CohortFactory(starts_on=date(2025, 1, 5))
    learner = LearnerFactory(cohort=cohort)
    written = (timezone.now() - timedelta(hours=1)).strftime("%Y-%m-%dt%H:%M:%S.%fz")
    response = auth_client.post(
        EVENTS,
        [
            {
                "learner_id": str(learner.id),
                "source": "lms",
                "source_event_id": "e1",
                "kind": "login",
                "occurred_at": written,
            }
        ],
        format="json",
    )
    assert response.json()["accepted"] == 1, response.content
    response = auth_client.patch(
        f"/api/v1/learners/{learner.id}/", {"enrolled_at": written}, format="json"
    )
    assert response.status_code == 200, response.content


# xAPI ------------------------------------------------------------------------------------------


def test_xapi_accepts_a_resent_statement_with_lower_case_t_and_z(auth_client: APIClient) -> None:
    learner = LearnerFactory(source="lms.example.edu", external_id="u-1")
    moment = timezone.now() - timedelta(hours=1)
    statement = {
        "id": str(uuid.uuid4()),
        "actor": {"objectType": "Agent", "account": {"homePage": HOME, "name": "u-1"}},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
        "object": {"objectType": "Activity", "id": f"{HOME}/course/1"},
        "timestamp": moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    }
    first = auth_client.post(STATEMENTS, statement, format="json", **XAPI_VERSION)
    assert first.status_code == 200, first.content
    statement["timestamp"] = moment.strftime("%Y-%m-%dt%H:%M:%S.%fz")
    again = auth_client.post(STATEMENTS, statement, format="json", **XAPI_VERSION)
    assert again.status_code == 200, again.content
    assert list(ActivityEvent.objects.values_list("learner_id", flat=True)) == [learner.id]


@pytest.mark.parametrize("raw", ["null", "3", '"statement"', "true"])
def test_xapi_body_that_is_no_statement_is_a_clear_400(auth_client: APIClient, raw: str) -> None:
    response = post_json(auth_client, STATEMENTS, raw, **XAPI_VERSION)
    assert response.status_code == 400
    assert response.json() == {
        "non_field_errors": ["Expected a statement or an array of statements."]
    }


# Time zones --------------------------------------------------------------------------------------

NOT_PORTABLE = [
    "localtime",
    "posixrules",
    "Factory",
    "GB",
    "EST5EDT",
    "Zulu",
    "Nowhere/Land",
    "utc",
]


@pytest.mark.parametrize("name", NOT_PORTABLE)
def test_non_portable_time_zones_are_refused_everywhere(auth_client: APIClient, name: str) -> None:
    response = auth_client.post(
        "/api/v1/cohorts/",
        {"name": "C", "starts_on": "2026-01-05", "timezone": name},
        format="json",
    )
    assert response.status_code == 400 and "IANA time zone" in response.json()["timezone"][0]
    learner = LearnerFactory()
    response = auth_client.patch(
        f"/api/v1/learners/{learner.id}/", {"timezone": name}, format="json"
    )
    assert response.status_code == 400 and "IANA time zone" in response.json()["timezone"][0]
    with pytest.raises(ValidationError, match="timezone"):
        Cohort(name="M", starts_on=date(2026, 1, 5), timezone=name).full_clean()
    assert not Cohort.objects.filter(name="C").exists()


@pytest.mark.parametrize(
    "name", ["UTC", "Europe/Paris", "America/Argentina/Buenos_Aires", "Etc/GMT+5"]
)
def test_portable_time_zones_are_accepted(name: str) -> None:
    assert check_timezone(name) == name


# The admin -------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", NOT_ISO_DATES)
def test_the_admin_refuses_the_same_dates(client: Any, text: str) -> None:
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    cohort = CohortFactory(starts_on=date(2026, 1, 5))
    body = {"name": cohort.name, "starts_on": text, "timezone": "UTC"}
    response = client.post(f"/admin/learners/cohort/{cohort.pk}/change/", body)
    assert response.status_code == 200  # the form again, with the error
    assert "is not an ISO 8601 date" in response.content.decode()
    assert Cohort.objects.get(pk=cohort.pk).starts_on == date(2026, 1, 5)


@pytest.mark.parametrize(
    ("day", "moment"),
    [
        ("\u0662\u0660\u0662\u0666-01-05", "10:00:00"),
        ("2026-01-05", "\uff11\uff10:00:00"),
        ("2026-01-05", "10:00:00\x00"),
        ("2026-01-05", "10:00:00+01:00"),
    ],
)
def test_admin_date_times_are_read_by_the_shared_parser(rf: Any, day: str, moment: str) -> None:
    request = rf.get("/")
    request.user = UserFactory(is_staff=True, is_superuser=True)
    for model in (Learner, ApiKey):  # activity events are read-only in the admin
        name = next(
            field.name
            for field in model._meta.fields
            if field.get_internal_type() == "DateTimeField" and field.editable
        )
        form_field = site._registry[model].get_form(request)().fields[name]
        assert isinstance(form_field, StrictSplitDateTimeFormField)
        with pytest.raises(ValidationError, match="ISO 8601"):
            form_field.clean([day, moment])
        assert form_field.clean(["2026-01-05", "10:00"]) == datetime(2026, 1, 5, 10, tzinfo=UTC)
