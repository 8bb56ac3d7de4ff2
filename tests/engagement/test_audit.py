import pytest
from rest_framework.test import APIClient

from engagement.audit import audit_record
from engagement.models import AuditEvent
from tests.factories import LearnerFactory

pytestmark = pytest.mark.django_db


def test_learner_changes_are_audited_without_personal_data(auth_client: APIClient) -> None:
    learner = LearnerFactory()
    auth_client.patch(
        f"/api/v1/learners/{learner.id}/",
        {"name": "Secret Name", "status": "paused"},
        format="json",
        HTTP_X_REQUEST_ID="req-123",
    )
    event = AuditEvent.objects.get(action="learner.update")
    assert event.changes == {"name": "(changed)", "status": "paused"}
    assert "Secret Name" not in str(event.changes)
    assert event.request_id == "req-123"
    assert event.ip == "127.0.0.1"
    assert event.actor_label == "admin1"
    auth_client.delete(f"/api/v1/learners/{learner.id}/")
    assert AuditEvent.objects.filter(action="learner.delete", target_id=str(learner.id)).exists()


def test_audit_events_are_append_only() -> None:
    event = audit_record(actor=None, action="test.action")
    event.action = "changed"
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()


def test_audit_api_lists_and_filters(auth_client: APIClient) -> None:
    audit_record(
        actor=None, action="learner.export", target_type="learners.learner", target_id="abc"
    )
    audit_record(actor=None, action="auth.login_failed")
    everything = auth_client.get("/api/v1/audit-events/")
    assert everything.status_code == 200
    assert everything.data["count"] == 2
    only = auth_client.get("/api/v1/audit-events/", {"action_prefix": "learner."}).data["results"]
    assert [row["action"] for row in only] == ["learner.export"]
    assert auth_client.get("/api/v1/audit-events/", {"target_id": "abc"}).data["count"] == 1
    assert auth_client.get("/api/v1/audit-events/", {"since": "not-a-date"}).status_code == 400
    # Append-only: the route has no write method at all, for any caller.
    for method in ("post", "put", "patch", "delete"):
        assert getattr(auth_client, method)("/api/v1/audit-events/", {}).status_code == 405
    assert AuditEvent.objects.count() == 2


def test_request_id_is_echoed(auth_client: APIClient) -> None:
    response = auth_client.get("/api/v1/cohorts/", HTTP_X_REQUEST_ID="abc-1")
    assert response["X-Request-ID"] == "abc-1"
    generated = auth_client.get("/api/v1/cohorts/", HTTP_X_REQUEST_ID="bad id with spaces")
    assert generated["X-Request-ID"] != "bad id with spaces"
