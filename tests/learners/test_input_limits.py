"""Input that used to break the server or poison stored data, through every door that takes it.

Each case must be a 4xx (or a refused CSV line, or a one-line command error) that names the
field, with nothing stored; rows stored before the checks existed must stay readable.
"""

import json
import uuid
from datetime import UTC, date, datetime, timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from engagement.models import Job
from learners.ingestion.events import MAX_DURATION_SECONDS, MAX_METADATA_DEPTH, parse_event
from learners.models import ActivityEvent, Cohort, Learner, RiskAssessment, course_closed_at
from tests.factories import ActivityEventFactory, CohortFactory, LearnerFactory, UserFactory

pytestmark = pytest.mark.django_db

EVENTS = "/api/v1/events/"
STATEMENTS = "/api/v1/xapi/statements"
XAPI_VERSION = {"HTTP_X_EXPERIENCE_API_VERSION": "1.0.3"}
EXTREME_DATETIMES = [
    "0001-01-01T00:00:00+14:00",
    "0001-01-01T00:00:00-12:00",
    "9999-12-31T23:59:59-12:00",
    "9999-12-31T23:59:59+14:00",
    "9999-12-30T00:00:00Z",
    "1969-12-31T23:59:59Z",
]
DEEP = "[" * 5000 + "]" * 5000


def event(learner: Learner, **overrides: Any) -> dict[str, Any]:
    return {
        "learner_id": str(learner.id),
        "source": "lms",
        "source_event_id": str(uuid.uuid4()),
        "kind": "login",
        "occurred_at": (timezone.now() - timedelta(hours=1)).isoformat(),
        **overrides,
    }


def refused(response: Any, field: str) -> str:
    """The reasons given for ``field`` of the only item of a refused events batch."""
    assert response.status_code == 400, response.content
    assert response.json()["accepted"] == 0
    return " ".join(response.json()["rejected"][0]["errors"][field])


# Extreme date-times ----------------------------------------------------------------------------


@pytest.mark.parametrize("moment", EXTREME_DATETIMES)
def test_events_with_extreme_times_are_refused_naming_occurred_at(
    auth_client: APIClient, moment: str
) -> None:
    learner = LearnerFactory()
    response = auth_client.post(EVENTS, [event(learner, occurred_at=moment)])
    assert "1970-01-01 to 2099-12-31" in refused(response, "occurred_at")
    assert not ActivityEvent.objects.exists()


@pytest.mark.parametrize("moment", EXTREME_DATETIMES)
def test_xapi_statements_with_extreme_timestamps_are_refused(
    auth_client: APIClient, moment: str
) -> None:
    learner = LearnerFactory(source="https://lms.example.edu", external_id="u-1")
    body = {
        "actor": {"account": {"homePage": learner.source, "name": learner.external_id}},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
        "object": {"id": "https://lms.example.edu/course/1"},
        "timestamp": moment,
    }
    response = auth_client.post(STATEMENTS, body, **XAPI_VERSION)
    assert response.status_code == 400
    assert "timestamp" in response.json()["rejected"][0]["errors"]
    assert not ActivityEvent.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [("enrolled_at", "9999-12-31T23:00:00Z"), ("finished_at", "0001-01-01T00:00:00+14:00")],
)
def test_learner_dates_out_of_range_are_refused(
    auth_client: APIClient, field: str, value: str
) -> None:
    cohort = CohortFactory()
    body = {
        "cohort": str(cohort.id),
        "source": "lms",
        "external_id": "x-1",
        "enrolled_at": "2026-09-01T00:00:00Z",
        "status": "completed",
        field: value,
    }
    response = auth_client.post("/api/v1/learners/", body)
    assert response.status_code == 400
    assert "1970-01-01 to 2099-12-31" in response.json()[field][0]
    assert not Learner.objects.exists()


@pytest.mark.parametrize("field", ["starts_on", "ends_on"])
def test_cohort_dates_out_of_range_are_refused(auth_client: APIClient, field: str) -> None:
    body = {"name": "Far", "starts_on": "2026-01-01", field: "9999-12-31"}
    response = auth_client.post("/api/v1/cohorts/", body)
    assert response.status_code == 400
    assert field in response.json()
    cohort = CohortFactory()
    response = auth_client.patch(f"/api/v1/cohorts/{cohort.id}/", {field: "9999-12-31"})
    assert response.status_code == 400 and field in response.json()
    with pytest.raises(ValidationError, match=field):
        Cohort(
            **{"name": "Model", "starts_on": date(2026, 1, 1), field: date(9999, 12, 31)}
        ).full_clean()


def test_a_stored_far_end_date_does_not_break_status_changes(auth_client: APIClient) -> None:
    cohort = CohortFactory()
    Cohort.objects.filter(pk=cohort.pk).update(ends_on=date.max)  # stored before the bounds
    learner = LearnerFactory(cohort=cohort)
    before = timezone.now()
    response = auth_client.patch(f"/api/v1/learners/{learner.id}/", {"status": "completed"})
    assert response.status_code == 200
    finished_at = Learner.objects.get(pk=learner.pk).finished_at
    assert finished_at is not None and before <= finished_at <= timezone.now()


def test_course_closed_at_is_the_end_of_the_last_day_or_now() -> None:
    now = datetime(2026, 11, 1, 12, tzinfo=UTC)
    assert course_closed_at(date(2026, 10, 31), now) == datetime(2026, 11, 1, tzinfo=UTC)
    assert course_closed_at(date(2026, 11, 1), now) == now
    assert course_closed_at(date.max, now) == now
    assert course_closed_at(None, now) == now


def test_api_key_expiry_out_of_range_is_refused(auth_client: APIClient) -> None:
    body = {"name": "k", "scopes": ["events:write"], "expires_at": "9999-12-31T23:00:00Z"}
    response = auth_client.post("/api/v1/api-keys/", body)
    assert response.status_code == 400 and "expires_at" in response.json()


@pytest.mark.parametrize("moment", EXTREME_DATETIMES)
@pytest.mark.parametrize("field", ["since", "until"])
def test_audit_filters_out_of_range_are_refused(
    auth_client: APIClient, moment: str, field: str
) -> None:
    response = auth_client.get("/api/v1/audit-events/", {field: moment})
    assert response.status_code == 400
    assert "1970-01-01 to 2099-12-31" in response.json()[field][0]


@pytest.mark.parametrize("field", ["since", "until"])
def test_audit_filter_values_holding_a_percent_sign_are_refused_not_a_500(
    auth_client: APIClient, field: str
) -> None:
    response = auth_client.get("/api/v1/audit-events/", {field: "2026-01-01 %s %(x)d 100%"})
    assert response.status_code == 400
    assert field in response.json()


# Rescore as of ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("as_of", "reason"),
    [
        ("9999-12-31T23:59:59-12:00", "1970-01-01 to 2099-12-31"),
        ("9999-12-30T00:00:00Z", "1970-01-01 to 2099-12-31"),
        ("2099-06-01T00:00:00Z", "future"),
        ("1999-01-01T00:00:00Z", "first cohort started"),
    ],
)
def test_rescore_as_of_beyond_now_or_before_the_first_cohort_is_refused(
    auth_client: APIClient, rules_model: Any, as_of: str, reason: str
) -> None:
    LearnerFactory(cohort=CohortFactory(starts_on=date(2026, 1, 5)))
    response = auth_client.post("/api/v1/risk/rescore/", {"as_of": as_of})
    assert response.status_code == 400
    assert reason in response.json()["as_of"][0]
    assert not Job.objects.exists()
    assert not RiskAssessment.objects.exists()
    with pytest.raises(CommandError, match=f"--as-of: .*{reason}"):
        call_command("rescore", "--as-of", as_of)
    assert not RiskAssessment.objects.exists()


def test_rescore_as_of_within_bounds_is_accepted(
    auth_client: APIClient, rules_model: Any, django_capture_on_commit_callbacks: Any
) -> None:
    LearnerFactory(cohort=CohortFactory(starts_on=date(2026, 1, 5)))
    as_of = (timezone.now() - timedelta(days=3)).isoformat()
    with django_capture_on_commit_callbacks(execute=True):
        response = auth_client.post("/api/v1/risk/rescore/", {"as_of": as_of})
    assert response.status_code == 202
    assert RiskAssessment.objects.count() == 1


# Huge integers ---------------------------------------------------------------------------------


@pytest.mark.parametrize("duration", [2**31, 10**20, 10**400])
def test_huge_durations_are_refused(auth_client: APIClient, duration: int) -> None:
    learner = LearnerFactory()
    body = json.dumps([event(learner, duration_seconds=duration)])
    response = auth_client.post(EVENTS, body, content_type="application/json")
    assert "duration_seconds" in response.json()["rejected"][0]["errors"]
    assert not ActivityEvent.objects.exists()


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(min_value=0, max_value=10**30))
def test_any_whole_duration_is_stored_or_refused(duration: int) -> None:
    item = {
        "learner_id": str(uuid.uuid4()),
        "source": "lms",
        "source_event_id": "e",
        "kind": "login",
        "occurred_at": "2026-01-01T00:00:00Z",
        "duration_seconds": duration,
    }
    record, errors = parse_event(item, now=timezone.now())
    if duration <= MAX_DURATION_SECONDS:
        assert record is not None and record.duration_seconds == duration
    else:
        assert list(errors) == ["duration_seconds"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"inactive_days": "99999999999"}, "inactive_days"),
        ({"inactive_days": "1e300"}, "inactive_days"),
        ({"risk_min": "1e400"}, "risk_min"),
        ({"risk_max": "-5"}, "risk_max"),
        ({"inactive_days": "\u0663"}, "inactive_days"),
        ({"inactive_days": "\uff13"}, "inactive_days"),
        ({"inactive_days": "1e2"}, "inactive_days"),
        ({"risk_min": "+0.5"}, "risk_min"),
        ({"risk_min": "\uff10.5"}, "risk_min"),
    ],
)
def test_learner_list_filters_out_of_range_are_refused(
    auth_client: APIClient, query: dict[str, str], field: str
) -> None:
    response = auth_client.get("/api/v1/learners/", query)
    assert response.status_code == 400
    assert field in response.json()


@pytest.mark.parametrize(
    ("query", "status"),
    [({"page": "9" * 30}, 404), ({"page_size": "9" * 30}, 200), ({"page": "-1"}, 404)],
)
def test_huge_page_numbers_are_not_server_errors(
    auth_client: APIClient, query: dict[str, str], status: int
) -> None:
    assert auth_client.get("/api/v1/learners/", query).status_code == status


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["--today", "9999-12-31"], "1970-01-01 to 2099-12-31"),
        (["--today", "2026-01-01", "--days", str(10**9)], "before 1970-01-01"),
    ],
)
def test_seed_demo_refuses_dates_out_of_range(args: list[str], reason: str) -> None:
    with pytest.raises(CommandError, match=reason):
        call_command("seed_demo", "--learners", "5", "--cohorts", "1", *args)
    assert not Learner.objects.exists()


@pytest.mark.parametrize("command", ["train_risk_model", "export_training_data"])
def test_huge_cutoff_days_are_a_one_line_command_error(tmp_path: Path, command: str) -> None:
    args = [str(tmp_path / "out.csv")] if command == "export_training_data" else []
    with pytest.raises(CommandError, match="cutoff_days: Must be between 7 and 180 days"):
        call_command(command, *args, "--cutoff-day", str(10**12))


# Deeply nested JSON ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "authenticated"),
    [
        ("/api/v1/auth/token/", False),
        ("/api/v1/auth/token/refresh/", False),
        (EVENTS, True),
        (STATEMENTS, True),
        ("/api/v1/cohorts/", True),
    ],
)
def test_deeply_nested_bodies_are_a_400(
    api_client: APIClient, user: Any, path: str, authenticated: bool
) -> None:
    if authenticated:
        api_client.force_authenticate(user)
    response = api_client.post(path, DEEP, content_type="application/json", **XAPI_VERSION)
    assert response.status_code == 400
    assert "nest more than 64 levels" in response.json()["detail"]


def test_metadata_is_bounded_in_depth_and_size(auth_client: APIClient) -> None:
    learner = LearnerFactory()
    deep: Any = "leaf"
    for _ in range(MAX_METADATA_DEPTH + 1):
        deep = {"k": deep}
    response = auth_client.post(EVENTS, [event(learner, metadata=deep)])
    assert "more than 10 levels" in refused(response, "metadata")
    response = auth_client.post(EVENTS, [event(learner, metadata={"a": "x" * 20_000})])
    assert "16384 bytes" in refused(response, "metadata")
    assert not ActivityEvent.objects.exists()


# NUL characters and lone surrogates ------------------------------------------------------------


@pytest.mark.parametrize("bad", ["\\u0000", "\\ud800", "\\udfff", "a\\ud83d"])
@pytest.mark.parametrize(
    ("template", "field"),
    [
        ('"metadata": {"note": "%s"}', "metadata"),
        ('"metadata": {"tags": ["ok", {"%s": 1}]}', "metadata"),
        ('"source_event_id": "e%s"', "source_event_id"),
        ('"learner_external_id": "u%s", "learner_source": "lms"', "learner"),
    ],
)
def test_events_holding_nul_or_lone_surrogates_are_refused(
    auth_client: APIClient, bad: str, template: str, field: str
) -> None:
    learner = LearnerFactory(external_id="u")
    dropped = {"learner_id"} if field == "learner" else {field}
    item = json.dumps({k: v for k, v in event(learner).items() if k not in dropped})
    body = "[" + item[:-1] + ", " + template % bad + "}]"
    response = auth_client.post(EVENTS, body, content_type="application/json")
    reason = refused(response, field)
    assert "contains a NUL character" in reason or "unpaired surrogate" in reason
    if field == "learner":
        assert "learner_external_id" in reason
    assert not ActivityEvent.objects.exists()


@pytest.mark.parametrize("bad", ["\\u0000", "\\ud800"])
@pytest.mark.parametrize(
    ("template", "field"),
    [
        ('"context": {"extensions": {"https://x/e": "%s"}}', "context"),
        (
            '"verb": {"id": "http://adlnet.gov/expapi/verbs/completed", "display": {"en": "%s"}}',
            "verb",
        ),
        ('"actor": {"account": {"homePage": "https://lms.example.edu", "name": "u%s"}}', "actor"),
        ('"actor": {"mbox": "mailto:a%s@example.org"}', "actor"),
    ],
)
def test_xapi_statements_holding_nul_or_lone_surrogates_are_refused(
    auth_client: APIClient, bad: str, template: str, field: str
) -> None:
    LearnerFactory(source="https://lms.example.edu", external_id="u-1")
    base = {
        "actor": {"account": {"homePage": "https://lms.example.edu", "name": "u-1"}},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
        "object": {"id": "https://lms.example.edu/course/1"},
    }
    base.pop(field, None)
    body = json.dumps(base)[:-1] + ", " + template % bad + "}"
    response = auth_client.post(STATEMENTS, body, content_type="application/json", **XAPI_VERSION)
    assert response.status_code == 400
    assert field in response.json()["rejected"][0]["errors"]
    assert not ActivityEvent.objects.exists()


def _plantable_bad_text() -> None:
    if connection.vendor == "postgresql":
        pytest.skip("PostgreSQL's jsonb never stored NUL characters or unpaired surrogates")


def test_events_stored_with_bad_text_stay_readable(auth_client: APIClient) -> None:
    _plantable_bad_text()
    learner = LearnerFactory()
    ActivityEventFactory(learner=learner, metadata={"a": "\ud800", "b": "\x00", "c": "é"})
    for path in (
        f"/api/v1/learners/{learner.id}/events/",
        f"/api/v1/learners/{learner.id}/export/",
    ):
        response = auth_client.get(path)
        assert response.status_code == 200
        assert b"\\ud800" in response.content
        assert json.loads(response.content)  # valid JSON


# CSV imports -----------------------------------------------------------------------------------


def _import(tmp_path: Path, command: str, text: str | bytes) -> tuple[str, str]:
    path = tmp_path / "file.csv"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    out, err = StringIO(), StringIO()
    try:
        call_command(command, str(path), stdout=out, stderr=err)
    except CommandError as exc:
        err.write(str(exc))
    return out.getvalue(), err.getvalue()


@pytest.mark.parametrize(
    ("row", "field"),
    [
        ("u1,lms,login,0001-01-01T00:00:00+14:00,,,a1", "occurred_at"),
        ("u1,lms,login,9999-12-31T23:59:59-12:00,,,a1", "occurred_at"),
        ("u1,lms,login,2026-01-01T00:00:00Z,99999999999999999999,,a1", "duration_seconds"),
        ("u1,lms,login,2026-01-01T00:00:00Z,,,a\x001", "source_event_id"),
    ],
)
def test_import_activity_refuses_extreme_rows(tmp_path: Path, row: str, field: str) -> None:
    LearnerFactory(external_id="u1", source="lms")
    header = "learner_external_id,source,kind,occurred_at,duration_seconds,score,source_event_id"
    _, err = _import(tmp_path, "import_activity", f"{header}\n{row}\n")
    assert f"line 2: {field}:" in err
    assert not ActivityEvent.objects.exists()


@pytest.mark.parametrize(
    ("row", "field"),
    [
        ("u1,lms,C,9999-12-31T23:59:59-12:00,active,", "enrolled_at"),
        ("u1,lms,C,0001-01-01T00:00:00+14:00,active,", "enrolled_at"),
        ("u1,lms,C,2026-01-01,completed,9999-12-30T00:00:00Z", "finished_at"),
        ("u\x001,lms,C,2026-01-01,active,", "external_id"),
        ("u1,lms,C\x00,2026-01-01,active,", "cohort"),
    ],
)
def test_import_learners_refuses_extreme_rows(tmp_path: Path, row: str, field: str) -> None:
    _, err = _import(
        tmp_path,
        "import_learners",
        f"external_id,source,cohort,enrolled_at,status,finished_at,name,email\n{row},,\n",
    )
    assert f"line 2: {field}:" in err
    assert not Learner.objects.exists()
    assert not Cohort.objects.exists()


def test_a_csv_file_that_is_not_utf8_is_a_one_line_error(tmp_path: Path) -> None:
    text = "external_id,source,cohort,enrolled_at,name,email\nu1,lms,C\xe9,2026-01-01,,\n"
    _, err = _import(tmp_path, "import_learners", text.encode("latin-1"))
    assert "is not UTF-8 text" in err
    assert not Learner.objects.exists()


# Django admin ----------------------------------------------------------------------------------


def test_admin_forms_refuse_out_of_range_dates_and_bad_metadata(client: Any) -> None:
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    cohort = CohortFactory()
    response = client.post(
        f"/admin/learners/cohort/{cohort.pk}/change/",
        {
            "name": cohort.name,
            "starts_on": "2026-01-01",
            "ends_on": "9999-12-31",
            "timezone": "UTC",
        },
    )
    assert response.status_code == 200  # the form again, with the error
    assert "1970-01-01 to 2099-12-31" in response.content.decode()
    assert Cohort.objects.get(pk=cohort.pk).ends_on == cohort.ends_on
    event = ActivityEventFactory()
    with pytest.raises(ValidationError, match="NUL character"):
        ActivityEvent(**{**_fields(event), "metadata": {"a": "\x00"}}).full_clean()
    with pytest.raises(ValidationError, match="1970-01-01 to 2099-12-31"):
        ActivityEvent(
            **{**_fields(event), "occurred_at": datetime(9999, 1, 1, tzinfo=UTC)}
        ).full_clean()


def _fields(event: ActivityEvent) -> dict[str, Any]:
    return {
        "learner": event.learner,
        "kind": event.kind,
        "occurred_at": event.occurred_at,
        "source": "other",
        "source_event_id": "x",
    }


def test_admin_opens_an_event_stored_with_bad_text(client: Any) -> None:
    _plantable_bad_text()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    event = ActivityEventFactory(metadata={"a": "\ud800", "b": "é"})
    response = client.get(f"/admin/learners/activityevent/{event.pk}/change/")
    assert response.status_code == 200
    assert "\\ud800" in response.content.decode()
