"""Enrolment and finish times: one rule on every door (API, CSV import, model/admin), and a
default finish time that respects the cohort's time zone and the learner's enrolment."""

from datetime import UTC, date, datetime, timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from learners.models import Learner, course_closed_at
from tests.factories import CohortFactory, LearnerFactory

pytestmark = pytest.mark.django_db

ENROLLED = "2026-11-20T00:00:00Z"


def create(client: APIClient, cohort: Any, **fields: Any) -> Any:
    body = {"cohort": str(cohort.pk), "source": "lms", "external_id": "x1", "enrolled_at": ENROLLED}
    return client.post("/api/v1/learners/", {**body, **fields}, format="json")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"status": "withdrawn", "finished_at": "2026-11-19T00:00:00Z"}, "finished_at"),
        ({"status": "completed", "finished_at": "2099-11-20T00:00:00Z"}, "finished_at"),
        ({"status": "active", "finished_at": "2026-11-21T00:00:00Z"}, "finished_at"),
        ({"enrolled_at": "2099-11-20T00:00:00Z"}, "enrolled_at"),
    ],
)
def test_create_refuses_impossible_enrolment_and_finish_times(
    auth_client: APIClient, fields: dict[str, str], field: str
) -> None:
    response = create(auth_client, CohortFactory(), **fields)
    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert not Learner.objects.exists()


def test_a_finish_time_may_equal_the_enrolment(auth_client: APIClient) -> None:
    response = create(auth_client, CohortFactory(), status="withdrawn", finished_at=ENROLLED)
    assert response.status_code == 201
    assert response.json()["finished_at"] == ENROLLED


def test_an_update_is_checked_against_the_stored_values(auth_client: APIClient) -> None:
    enrolled = datetime(2026, 11, 20, tzinfo=UTC)
    finished = LearnerFactory(enrolled_at=enrolled, status="completed", finished_at=enrolled)
    studying = LearnerFactory(enrolled_at=enrolled)
    refused = [
        (finished, {"finished_at": "2026-11-19T00:00:00Z"}, "finished_at"),
        (finished, {"finished_at": "2099-01-01T00:00:00Z"}, "finished_at"),
        (finished, {"enrolled_at": "2026-11-21T00:00:00Z"}, "finished_at"),
        (studying, {"finished_at": "2026-11-21T00:00:00Z"}, "finished_at"),
        (studying, {"enrolled_at": "2099-11-20T00:00:00Z"}, "enrolled_at"),
    ]
    for learner, body, field in refused:
        response = auth_client.patch(f"/api/v1/learners/{learner.pk}/", body, format="json")
        assert response.status_code == 400, body
        assert list(response.json()) == [field], body
    assert Learner.objects.get(pk=finished.pk).finished_at == enrolled
    # Back to studying: the stored finish time is dropped, not held against the change.
    response = auth_client.patch(
        f"/api/v1/learners/{finished.pk}/", {"status": "active"}, format="json"
    )
    assert response.status_code == 200 and response.json()["finished_at"] is None


def test_finishing_after_a_course_that_closed_before_enrolment_finishes_now(
    auth_client: APIClient,
) -> None:
    cohort = CohortFactory(
        starts_on=date(2025, 1, 1), ends_on=date(2025, 3, 1), timezone="Pacific/Kiritimati"
    )
    learner = LearnerFactory(cohort=cohort, enrolled_at=datetime(2026, 11, 20, tzinfo=UTC))
    before = timezone.now()
    response = auth_client.patch(
        f"/api/v1/learners/{learner.pk}/", {"status": "completed"}, format="json"
    )
    assert response.status_code == 200
    finished_at = Learner.objects.get(pk=learner.pk).finished_at
    assert finished_at is not None and finished_at >= before


def test_the_default_finish_is_the_end_of_the_last_day_in_the_cohorts_zone() -> None:
    now = datetime(2026, 6, 1, 9, tzinfo=UTC)
    ends_on = date(2026, 4, 30)
    # Kiritimati is UTC+14: its 30 April ends at 10:00 UTC that day; New York's at 04:00 next day.
    kiritimati = course_closed_at(ends_on, now, timezone_name="Pacific/Kiritimati")
    assert kiritimati == datetime(2026, 4, 30, 10, tzinfo=UTC)
    new_york = course_closed_at(ends_on, now, timezone_name="America/New_York")
    assert new_york == datetime(2026, 5, 1, 4, tzinfo=UTC)
    late = datetime(2026, 5, 20, tzinfo=UTC)
    assert course_closed_at(ends_on, now, enrolled_at=late) == now  # closed before they enrolled
    assert course_closed_at(ends_on, now, enrolled_at=now + timedelta(minutes=5)) > now


def test_the_model_refuses_a_finish_before_enrolment_for_the_admin() -> None:
    learner = LearnerFactory.build(
        cohort=CohortFactory(),
        enrolled_at=datetime(2026, 11, 20, tzinfo=UTC),
        status="withdrawn",
        finished_at=datetime(2026, 11, 19, tzinfo=UTC),
    )
    with pytest.raises(ValidationError) as raised:
        learner.full_clean(validate_constraints=False)
    assert list(raised.value.message_dict) == ["finished_at"]


def test_the_csv_import_refuses_the_rows_the_api_refuses(tmp_path: Path) -> None:
    path = tmp_path / "learners.csv"
    path.write_text(
        "external_id,source,cohort,name,email,enrolled_at,status,finished_at\n"
        "d1,moodle,Autumn 2026,,,2026-11-01,withdrawn,2026-10-01\n"
        "d2,moodle,Autumn 2026,,,2026-11-01,active,2026-11-10\n"
        "d3,moodle,Autumn 2026,,,2026-11-01,completed,2099-11-10\n"
        "d4,moodle,Autumn 2026,,,2026-11-01,withdrawn,2026-11-10\n",
        encoding="utf-8",
    )
    out, err = StringIO(), StringIO()
    call_command("import_learners", str(path), stdout=out, stderr=err)
    assert "1 written" in out.getvalue()
    assert "line 2: finished_at: Must not be before enrolled_at" in err.getvalue()
    assert "line 3: finished_at: Only completed or withdrawn learners have finished." in (
        err.getvalue()
    )
    assert "line 4: finished_at: Lies in the future." in err.getvalue()
    assert list(Learner.objects.values_list("external_id", flat=True)) == ["d4"]


def test_a_reimport_that_moves_the_enrolment_past_the_stored_finish_drops_it(
    tmp_path: Path,
) -> None:
    header = "external_id,source,cohort,name,email,enrolled_at,status,finished_at\n"
    path = tmp_path / "learners.csv"
    path.write_text(header + "r1,moodle,Autumn 2026,,,2026-11-01,withdrawn,2026-11-02\n")
    call_command("import_learners", str(path), stdout=StringIO(), stderr=StringIO())
    path.write_text(header + "r1,moodle,Autumn 2026,,,2026-11-05,withdrawn,\n")
    call_command("import_learners", str(path), stdout=StringIO(), stderr=StringIO())
    learner = Learner.objects.get(external_id="r1")
    assert learner.finished_at is not None and learner.finished_at >= learner.enrolled_at
