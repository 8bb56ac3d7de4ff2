"""Personal data: encrypted at rest, findable by keyed hash, exportable, erasable, rotatable."""

import logging
from datetime import UTC, date, datetime
from io import StringIO
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from rest_framework.test import APIClient

from engagement.crypto import DecryptionFailed
from engagement.models import AuditEvent
from learners.models import ActivityEvent, Learner
from learners.risk.feedback import risk_feedback_create
from learners.risk.services import learners_rescore
from learners.services import coach_note_create, events_ingest
from tests.factories import ActivityEventFactory, CohortFactory, LearnerFactory, UserFactory

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()


def raw_row(learner_id: Any) -> tuple[str, str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, email, email_hash FROM learners_learner WHERE id = %s",
            [learner_id.hex if connection.vendor == "sqlite" else learner_id],
        )
        return cursor.fetchone()


@pytest.mark.django_db
def test_names_and_emails_are_encrypted_at_rest() -> None:
    learner = LearnerFactory(name="Ada Lovelace", email="Ada@Example.org")
    name, email, email_hash = raw_row(learner.id)
    assert "Ada" not in name and "example" not in email.lower()
    assert name.startswith("gAAAAA")
    assert len(email_hash) == 64
    fresh = Learner.objects.get(pk=learner.pk)
    assert (fresh.name, fresh.email) == ("Ada Lovelace", "ada@example.org")


@pytest.mark.django_db
def test_lookup_by_email_and_name_words(auth_client: APIClient) -> None:
    learner = LearnerFactory(name="Grace Brewster Hopper", email="grace@example.org")
    LearnerFactory(name="Someone Else")
    assert [
        r["id"]
        for r in auth_client.get("/api/v1/learners/", {"email": " GRACE@example.org"}).data[
            "results"
        ]
    ] == [str(learner.id)]
    assert auth_client.get("/api/v1/learners/", {"search": "hopper grace"}).data["count"] == 1
    assert auth_client.get("/api/v1/learners/", {"search": "hop"}).data["count"] == 0


@pytest.mark.django_db
def test_key_rotation(settings: Any) -> None:
    settings.FIELD_ENCRYPTION_KEYS = [OLD_KEY]
    learner = LearnerFactory(name="Rotating Person")
    old_token = raw_row(learner.id)[0]
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    out = StringIO()
    call_command("rotate_encryption_keys", stdout=out)
    assert "Re-encrypted 1 learner under" in out.getvalue()
    assert raw_row(learner.id)[0] != old_token
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY]
    assert Learner.objects.get(pk=learner.pk).name == "Rotating Person"
    settings.FIELD_ENCRYPTION_KEYS = [OLD_KEY]
    with pytest.raises(DecryptionFailed, match="cannot be decrypted"):
        Learner.objects.get(pk=learner.pk)


@pytest.mark.django_db(transaction=True)
def test_migration_encrypts_existing_rows() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate([("learners", "0002_coach_cohort_permissions")])
    old_apps = executor.loader.project_state([("learners", "0002_coach_cohort_permissions")]).apps
    cohort = old_apps.get_model("learners", "Cohort").objects.create(
        name="Old", starts_on="2026-01-01"
    )
    old_learner = old_apps.get_model("learners", "Learner").objects.create(
        cohort=cohort,
        source="lms",
        external_id="old-1",
        name="Plain Text",
        email="plain@example.org",
        enrolled_at="2026-01-01T00:00:00Z",
    )
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    name, email, email_hash = raw_row(old_learner.pk)
    assert name.startswith("gAAAAA") and email.startswith("gAAAAA") and email_hash
    migrated = Learner.objects.get(pk=old_learner.pk)
    assert (migrated.name, migrated.email) == ("Plain Text", "plain@example.org")
    assert Learner.objects.filter(email_hash=migrated.email_hash).count() == 1


@pytest.mark.django_db
def test_export_holds_everything_and_is_audited(auth_client: APIClient) -> None:
    learner = LearnerFactory(name="Export Me", email="export@example.org")
    ActivityEventFactory.create_batch(3, learner=learner)
    auth_client.patch(f"/api/v1/learners/{learner.id}/", {"status": "paused"}, format="json")
    learners_rescore(learner_ids=[learner.pk])
    risk_feedback_create(
        actor=None, learner=learner, kind="acknowledged", note="spoke on the phone"
    )
    document = auth_client.get(f"/api/v1/learners/{learner.id}/export/").json()
    assert document["learner"]["name"] == "Export Me"
    assert document["learner"]["email"] == "export@example.org"
    assert document["cohort"]["id"] == str(learner.cohort_id)
    assert len(document["activity"]) == 3
    assert len(document["risk_assessments"]) == 1 and document["risk_assessments"][0]["factors"]
    assert document["risk_feedback"][0]["note"] == "spoke on the phone"
    assert [row["action"] for row in document["audit_trail"]] == ["learner.update", "risk.feedback"]
    assert AuditEvent.objects.filter(action="learner.export", target_id=str(learner.id)).exists()


@pytest.mark.django_db
def test_erase_removes_personal_data_and_keeps_aggregates(auth_client: APIClient) -> None:
    learner = LearnerFactory(
        name="Erase Me", email="erase@example.org", external_id="ext-9", progress=0.5
    )
    ActivityEventFactory.create_batch(4, learner=learner, metadata={"ip": "10.1.2.3"}, score=0.5)
    before = sorted(
        ActivityEvent.objects.filter(learner=learner).values_list("kind", "occurred_at", "score")
    )
    response = auth_client.post(f"/api/v1/learners/{learner.id}/erase/")
    assert response.status_code == 200
    assert response.data["name"] == "" and response.data["email"] == ""
    erased = Learner.objects.get(pk=learner.pk)
    assert erased.external_id == f"erased-{learner.pk}"
    assert erased.email_hash == "" and erased.name_tokens == "" and erased.erased_at is not None
    assert erased.nudge_opt_out and erased.progress == 0.5
    events = ActivityEvent.objects.filter(learner=learner)
    assert sorted(events.values_list("kind", "occurred_at", "score")) == before
    assert all(
        event.metadata == {} and event.source_event_id.startswith("erased-") for event in events
    )
    assert auth_client.get("/api/v1/learners/", {"email": "erase@example.org"}).data["count"] == 0
    late = events_ingest(
        items=[
            {
                "learner_external_id": "ext-9",
                "source": "lms",
                "source_event_id": "new",
                "kind": "login",
                "occurred_at": "2026-10-01T00:00:00Z",
            }
        ]
    )
    assert late.accepted == 0 and late.rejected
    assert AuditEvent.objects.filter(action="learner.erase", target_id=str(learner.id)).exists()


@pytest.mark.django_db
def test_personal_data_never_reaches_the_logs(
    auth_client: APIClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    learner = LearnerFactory(name="Zebedee Quartermaine", email="zq@example.org")
    auth_client.patch(f"/api/v1/learners/{learner.id}/", {"name": "Zebedee Renamed"}, format="json")
    auth_client.get(f"/api/v1/learners/{learner.id}/export/")
    auth_client.post(f"/api/v1/learners/{learner.id}/erase/")
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "Zebedee" not in logged and "zq@example.org" not in logged


@pytest.mark.django_db
def test_anonymize_database_refuses_production_without_the_flag(settings: Any) -> None:
    learner = LearnerFactory(name="Real Person", email="real@example.org")
    ActivityEventFactory(learner=learner, metadata={"note": "x"})
    settings.DEBUG = False
    with pytest.raises(CommandError, match="Refusing"):
        call_command("anonymize_database")
    out = StringIO()
    call_command("anonymize_database", "--allow-production", stdout=out)
    assert "Anonymised 1 learner and" in out.getvalue()
    fresh = Learner.objects.get(pk=learner.pk)
    assert "Real" not in fresh.name and fresh.email.endswith("@example.invalid")
    assert ActivityEvent.objects.get(learner=learner).metadata == {}


# Format 1, section by section: written out here, not taken from the code that builds it.
EXPORT_KEYS = {
    "learner": (
        "id source external_id cohort cohort_name name email status enrolled_at finished_at "
        "progress last_active_at nudge_opt_out locale timezone risk_score risk_band "
        "risk_scored_at created_at updated_at"
    ),
    "cohort": "id name course_code starts_on ends_on timezone created_at updated_at",
    "activity": (
        "id kind occurred_at duration_seconds score source source_event_id metadata ingested_at"
    ),
    "risk_assessments": "id as_of score band model_version factors computed_at",
    "risk_feedback": "created_at kind note",
    "coach_notes": "created_at body",
    "audit_trail": "occurred_at action actor_type changes",
}


@pytest.mark.django_db
def test_the_export_format_is_pinned(auth_client: APIClient) -> None:
    """Export format 3 (docs/security.md): a change here is a new format version, on purpose."""
    cohort = CohortFactory(name="Spring", starts_on=date(2026, 3, 2), ends_on=None)
    learner = LearnerFactory(
        cohort=cohort,
        name="Pinned Person",
        email="pinned@example.org",
        enrolled_at=datetime(2026, 3, 2, 9, 30, tzinfo=UTC),
    )
    ActivityEventFactory(
        learner=learner,
        kind="login",
        occurred_at=datetime(2026, 3, 3, 8, 0, 0, 250000, tzinfo=UTC),
        source="lms",
        source_event_id="e-1",
        duration_seconds=None,
        score=None,
        metadata={"page": 3},
    )
    learners_rescore(learner_ids=[learner.pk])
    risk_feedback_create(actor=None, learner=learner, kind="acknowledged", note="Called.")
    coach_note_create(actor=UserFactory(role="coach"), learner=learner, body="Prefers email.")

    document = auth_client.get(f"/api/v1/learners/{learner.id}/export/").json()

    assert list(document) == [
        "format_version",
        "exported_at",
        "learner",
        "cohort",
        "activity",
        "risk_assessments",
        "risk_feedback",
        "coach_notes",
        "nudges",
        "audit_trail",
    ]
    assert document["format_version"] == 3
    for section, keys in EXPORT_KEYS.items():
        rows = document[section] if isinstance(document[section], list) else [document[section]]
        assert rows and all(list(row) == keys.split() for row in rows), section
    assert {k: document["learner"][k] for k in ("name", "email", "cohort_name", "enrolled_at")} == {
        "name": "Pinned Person",
        "email": "pinned@example.org",
        "cohort_name": "Spring",
        "enrolled_at": "2026-03-02T09:30:00Z",
    }
    assert document["learner"]["risk_band"] in {"low", "medium", "high"}
    assert {k: document["cohort"][k] for k in ("name", "starts_on", "ends_on")} == {
        "name": "Spring",
        "starts_on": "2026-03-02",
        "ends_on": None,
    }
    event = document["activity"][0]
    assert (event["occurred_at"], event["source_event_id"], event["metadata"]) == (
        "2026-03-03T08:00:00.250000Z",
        "e-1",
        {"page": 3},
    )
    factor = document["risk_assessments"][0]["factors"][0]
    assert list(factor) == ["factor", "value", "contribution", "explanation"]
    assert document["risk_feedback"][0]["note"] == "Called."
    assert document["risk_feedback"][0]["created_at"].endswith("Z")
    assert document["coach_notes"][0]["body"] == "Prefers email."
