"""Prompt versions in the admin: read-only, activated (or rolled back) through the service."""

import pytest
from django.test import Client

from engagement.models import AuditEvent
from nudges.models import PromptTemplate
from nudges.prompts import prompt_version_create
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_versions_are_shown_read_only_and_activated_through_the_audited_service(
    client: Client,
) -> None:
    admin = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(admin)
    second = prompt_version_create(
        key="reengage", locale="en", system_text="S", user_text="{first_name}", actor=admin
    )
    url = "/admin/nudges/prompttemplate/"

    assert client.get(url).status_code == 200
    shown = client.get(f"{url}{second.pk}/change/")
    assert shown.status_code == 200
    assert b'name="user_text"' not in shown.content
    assert client.get(f"{url}add/").status_code == 403

    response = client.post(url, {"action": "activate", "_selected_action": [str(second.pk)]})

    assert response.status_code == 302
    assert PromptTemplate.objects.get(key="reengage", locale="en", is_active=True) == second
    event = AuditEvent.objects.get(action="prompt.activate")
    assert event.actor_id == str(admin.pk)


def test_activating_several_at_once_is_refused(client: Client) -> None:
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    ids = [str(pk) for pk in PromptTemplate.objects.values_list("pk", flat=True)]
    client.post("/admin/nudges/prompttemplate/", {"action": "activate", "_selected_action": ids})
    assert not AuditEvent.objects.filter(action="prompt.activate").exists()
