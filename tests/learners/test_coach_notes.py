"""Coach notes: personal data encrypted at rest, written through one audited service, served by
the API to coaches and admins in scope only, exported, erased and anonymised with the learner."""

import uuid
from io import StringIO
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.db import connection
from rest_framework.test import APIClient

from engagement.errors import ValidationFailed
from engagement.models import AuditEvent
from learners.models import CoachNote
from learners.privacy import ANONYMISED_NOTE, database_anonymise, learner_erase, learner_export
from learners.risk.explanations import FACTOR_LABELS, LEVER_ADVICE
from learners.risk.features import FEATURE_NAMES
from learners.risk.model import LEVERS
from learners.selectors import coach_note_list, learner_label, learner_pseudonym
from learners.services import coach_note_create, coach_note_delete
from tests.factories import CohortAssignmentFactory, CohortFactory, LearnerFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def world() -> dict[str, Any]:
    cohort, other = CohortFactory(), CohortFactory()
    coach, colleague, stranger = (UserFactory(role="coach") for _ in range(3))
    CohortAssignmentFactory(user=coach, cohort=cohort)
    CohortAssignmentFactory(user=colleague, cohort=cohort)
    CohortAssignmentFactory(user=stranger, cohort=other)
    return {
        "learner": LearnerFactory(cohort=cohort),
        "coach": coach,
        "colleague": colleague,
        "stranger": stranger,
        "admin": UserFactory(role="admin"),
        "analyst": UserFactory(role="analyst"),
    }


def _api(user: Any | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def _notes(learner: Any) -> str:
    return f"/api/v1/learners/{learner.pk}/notes/"


# Services and storage -------------------------------------------------------------------------


def test_a_note_is_stored_encrypted_and_audited_without_its_text(world: dict[str, Any]) -> None:
    note = coach_note_create(actor=world["coach"], learner=world["learner"], body="  Rang mum  ")
    assert note.body == "Rang mum" and note.author == world["coach"]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT body FROM learners_coachnote WHERE id = %s",
            [note.pk.hex if connection.vendor == "sqlite" else note.pk],
        )
        stored = cursor.fetchone()[0]
    assert stored.startswith("gAAAAA") and "Rang" not in stored
    event = AuditEvent.objects.get(action="learner.note.create")
    assert event.target_id == str(world["learner"].pk) and "Rang" not in str(event.changes)


@pytest.mark.parametrize(
    ("body", "reason"),
    [("", "the note is empty"), (" \n ", "the note is empty"), ("x" * 5001, "5,000")],
)
def test_an_empty_or_overlong_note_is_refused(
    world: dict[str, Any], body: str, reason: str
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        coach_note_create(actor=world["coach"], learner=world["learner"], body=body)
    assert reason in refused.value.detail["body"][0]
    assert not CoachNote.objects.exists()


def test_the_author_or_an_admin_may_delete_a_note(world: dict[str, Any]) -> None:
    note = coach_note_create(actor=world["coach"], learner=world["learner"], body="x")
    with pytest.raises(PermissionDenied):
        coach_note_delete(actor=world["colleague"], note=note)
    coach_note_delete(actor=world["coach"], note=note)
    other = coach_note_create(actor=world["coach"], learner=world["learner"], body="y")
    coach_note_delete(actor=world["admin"], note=other)
    assert not CoachNote.objects.exists()
    assert AuditEvent.objects.filter(action="learner.note.delete").count() == 2


def test_analysts_never_get_notes_from_the_selector(world: dict[str, Any]) -> None:
    coach_note_create(actor=world["coach"], learner=world["learner"], body="x")
    assert coach_note_list(actor=world["coach"], learner=world["learner"]).count() == 1
    assert coach_note_list(actor=world["analyst"], learner=world["learner"]).count() == 0


def test_a_deleted_author_leaves_the_note(world: dict[str, Any]) -> None:
    note = coach_note_create(actor=world["coach"], learner=world["learner"], body="kept")
    world["coach"].delete()
    note.refresh_from_db()
    assert note.author is None and note.body == "kept"


def test_learner_label_is_a_pseudonym_for_analysts(world: dict[str, Any]) -> None:
    learner = world["learner"]
    assert learner_label(learner, personal=True) == learner.name
    assert learner_label(learner, personal=False) == learner_pseudonym(learner.pk)
    assert learner_pseudonym(learner.pk) == f"Learner {str(learner.pk)[-8:]}"
    nameless = LearnerFactory(name="", external_id="ext-7")
    assert learner_label(nameless, personal=True) == "ext-7"


def test_every_factor_has_words_and_every_lever_advice() -> None:
    assert set(FEATURE_NAMES) <= set(FACTOR_LABELS)
    assert set(LEVER_ADVICE) == set(LEVERS)


# Export, erasure, anonymisation, key rotation -------------------------------------------------


def test_notes_are_exported_erased_and_anonymised(world: dict[str, Any]) -> None:
    learner = world["learner"]
    coach_note_create(actor=world["coach"], learner=learner, body="first")
    coach_note_create(actor=world["coach"], learner=learner, body="second")
    document = learner_export(actor=None, learner=learner)
    assert [note["body"] for note in document["coach_notes"]] == ["first", "second"]

    other = LearnerFactory(cohort=learner.cohort)
    coach_note_create(actor=world["coach"], learner=other, body="Lives at 1 Main St")
    out = StringIO()
    call_command("anonymize_database", "--allow-production", stdout=out)
    assert "the text of 3 coach notes" in out.getvalue()
    assert {note.body for note in CoachNote.objects.all()} == {ANONYMISED_NOTE}
    assert database_anonymise()["notes_cleared"] == 3

    learner_erase(actor=None, learner=learner)
    assert not CoachNote.objects.filter(learner=learner).exists()
    assert CoachNote.objects.filter(learner=other).exists()


def test_key_rotation_reencrypts_notes(world: dict[str, Any], settings: Any) -> None:
    from cryptography.fernet import Fernet

    old, new = list(settings.FIELD_ENCRYPTION_KEYS), Fernet.generate_key().decode()
    note = coach_note_create(actor=world["coach"], learner=world["learner"], body="rotating")
    settings.FIELD_ENCRYPTION_KEYS = [new, *old]
    call_command("rotate_encryption_keys", stdout=StringIO())
    settings.FIELD_ENCRYPTION_KEYS = [new]
    assert CoachNote.objects.get(pk=note.pk).body == "rotating"


# The API --------------------------------------------------------------------------------------


def test_coaches_list_and_add_notes(world: dict[str, Any]) -> None:
    client = _api(world["coach"])
    created = client.post(_notes(world["learner"]), {"body": "Called"}, format="json")
    assert created.status_code == 201
    assert created.data["body"] == "Called" and created.data["author"] == world["coach"].username
    client.post(_notes(world["learner"]), {"body": "Emailed"}, format="json")
    listed = _api(world["admin"]).get(_notes(world["learner"]))
    assert listed.status_code == 200
    assert [row["body"] for row in listed.data["results"]] == ["Emailed", "Called"]


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        ({}, 400),
        ({"body": ""}, 400),
        ({"body": "   "}, 400),
        ({"body": 5}, 400),
        ({"body": "x" * 5001}, 400),
    ],
)
def test_bad_bodies_are_400_with_the_field(
    world: dict[str, Any], payload: dict[str, Any], status: int
) -> None:
    response = _api(world["coach"]).post(_notes(world["learner"]), payload, format="json")
    assert response.status_code == status
    assert list(response.json()) == ["body"]
    assert not CoachNote.objects.exists()


@pytest.mark.parametrize("method", ["get", "post"])
def test_who_may_call_the_notes_route(world: dict[str, Any], method: str) -> None:
    url = _notes(world["learner"])
    call = lambda user: getattr(_api(user), method)(url, {"body": "x"}, format="json")  # noqa: E731
    assert call(None).status_code == 401
    assert call(world["analyst"]).status_code == 403
    assert call(world["stranger"]).status_code == 404
    assert call(world["coach"]).status_code in (200, 201)


def test_deleting_a_note_through_the_api(world: dict[str, Any]) -> None:
    note = coach_note_create(actor=world["coach"], learner=world["learner"], body="x")
    url = f"{_notes(world['learner'])}{note.pk}/"
    assert _api(None).delete(url).status_code == 401
    assert _api(world["analyst"]).delete(url).status_code == 403
    assert _api(world["stranger"]).delete(url).status_code == 404
    assert _api(world["colleague"]).delete(url).status_code == 403
    assert (
        _api(world["coach"]).delete(f"{_notes(world['learner'])}{uuid.uuid4()}/").status_code == 404
    )
    assert _api(world["coach"]).delete(f"{_notes(world['learner'])}nope/").status_code == 404
    assert _api(world["coach"]).delete(url).status_code == 204
    assert not CoachNote.objects.exists()


def test_a_note_of_another_learner_is_404(world: dict[str, Any]) -> None:
    other = LearnerFactory(cohort=world["learner"].cohort)
    note = coach_note_create(actor=world["coach"], learner=other, body="x")
    url = f"{_notes(world['learner'])}{note.pk}/"
    assert _api(world["admin"]).delete(url).status_code == 404
