"""CSV export of the whole filtered caseload: columns, scope, pseudonymisation, audit."""

import csv
import io
from typing import Any

import pytest

from engagement.models import AuditEvent
from learners.models import Learner
from tests.learners.pages.conftest import EXPORT_URL, Caseload, signed_in

pytestmark = pytest.mark.django_db


def _rows(response: Any) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_export_of_the_filtered_list(caseload: Caseload) -> None:
    response = signed_in(caseload.coach).get(EXPORT_URL, {"ordering": "last_active"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="caseload-20')
    rows = _rows(response)
    assert [row["name"] for row in rows] == ["Dora Drift", "Sam Steady"]
    drifting = caseload.drifting
    first = rows[0]
    assert first["id"] == str(drifting.pk)
    assert first["external_id"] == "drift-1"
    assert first["email"] == drifting.email
    assert first["cohort"] == "Mine"
    assert first["risk_band"] == drifting.risk_band
    assert first["risk_score"] == f"{drifting.risk_score:.4f}"
    assert first["top_factor"].startswith("No activity for 19 days")
    assert first["last_active_at"].startswith(str(drifting.last_active_at.date())[:4])
    event = AuditEvent.objects.get(action="learners.export")
    assert event.actor_id == str(caseload.coach.pk)
    assert event.changes["rows"] == 2
    assert event.changes["filters"]["ordering"] == "last_active"
    assert event.changes["filters"]["search"] is False


def test_export_keeps_the_filters_and_scope(caseload: Caseload) -> None:
    client = signed_in(caseload.admin)
    assert [r["name"] for r in _rows(client.get(EXPORT_URL, {"status": "completed"}))] == [
        "Fin Ished"
    ]
    coach = signed_in(caseload.coach)
    assert coach.get(EXPORT_URL, {"cohort": str(caseload.other.pk)}).status_code == 400
    assert not AuditEvent.objects.filter(
        action="learners.export", actor_id=str(caseload.coach.pk)
    ).exists()


def test_analyst_export_has_no_personal_data(caseload: Caseload) -> None:
    Learner.objects.filter(pk=caseload.drifting.pk).update(
        source="MARKER-SOURCE", external_id="MARKER-EXTID"
    )
    learner = Learner.objects.get(pk=caseload.drifting.pk)
    learner.name = "MARKER NAME"
    learner.email = "marker-email@example.org"
    learner.save()
    response = signed_in(caseload.analyst).get(EXPORT_URL)
    text = b"".join(response.streaming_content).decode()
    for marker in ("MARKER", "marker-email", "drift-1", "Sam Steady", "lms"):
        assert marker not in text
    header = text.splitlines()[0].split(",")
    assert header == [
        "id",
        "pseudonym",
        "cohort",
        "status",
        "risk_band",
        "risk_score",
        "top_factor",
        "last_active_at",
        "enrolled_at",
    ]
    assert f"Learner {learner.pk.hex[-8:]}" in text
    assert AuditEvent.objects.get(action="learners.export").changes["personal_data"] is False


def test_formula_like_cells_are_neutralised(caseload: Caseload) -> None:
    learner = Learner.objects.get(pk=caseload.steady.pk)
    learner.name = "=HYPERLINK(1)"
    learner.save()
    rows = _rows(signed_in(caseload.admin).get(EXPORT_URL, {"search": "steady-1"}))
    assert rows[0]["name"] == "'=HYPERLINK(1)"


def test_export_reads_in_chunks_with_a_constant_number_of_queries(
    caseload: Caseload, monkeypatch: Any, django_assert_num_queries: Any
) -> None:
    """One query for the assessments per chunk of rows, never one per row."""
    from tests.factories import LearnerFactory

    for number in range(6):
        LearnerFactory(cohort=caseload.mine, external_id=f"more-{number}")
    monkeypatch.setattr("learners.caseload.EXPORT_CHUNK", 3)
    client = signed_in(caseload.coach)
    response = client.get(EXPORT_URL)
    # session, user, cohorts, count, audit insert; then streamed: rows, 3 chunks' assessments
    with django_assert_num_queries(4):
        rows = _rows(response)
    assert len(rows) == 8
