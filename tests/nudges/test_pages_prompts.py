"""/dashboard/prompts/: every version by key and locale; admins activate through prompt_activate."""

from typing import Any

import pytest

from nudges.models import PromptTemplate
from tests.nudges.pages_factories import Calls, World, client_for, make_world, nudge, service_module

pytestmark = pytest.mark.django_db

URL = "/dashboard/prompts/"


@pytest.fixture
def world(db: None) -> World:
    PromptTemplate.objects.all().delete()  # the shipped versions; each test writes its own
    return make_world()


def _version(version: int, *, locale: str = "en", active: bool = False) -> PromptTemplate:
    return PromptTemplate.objects.create(
        key="reengage",
        version=version,
        locale=locale,
        system_text=f"System v{version}",
        user_text="Write to {first_name}.",
        is_active=active,
    )


def test_every_version_is_listed_with_the_active_one_marked(
    world: World, django_assert_num_queries: Any
) -> None:
    old, active = _version(1), _version(2, active=True)
    french = _version(1, locale="fr", active=True)
    nudge(world.learner, prompt=active)
    client = client_for(world.coach)
    with django_assert_num_queries(3):  # session, user, the versions with their nudges counted
        body = client.get(URL).content.decode()
    for prompt in (old, active, french):
        assert f'data-prompt="{prompt.pk}"' in body
    assert 'data-locale="fr"' in body
    assert "System v2" in body
    assert body.count('data-active="true"') == 2
    # Coaches read; only admins activate.
    assert "/activate/" not in body


def test_an_admin_activates_an_older_version(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    old = _version(1)
    _version(2, active=True)
    activate = Calls(lambda *, prompt, actor: prompt)
    service_module(monkeypatch, "prompts", prompt_activate=activate)
    client = client_for(world.admin)
    assert f'action="{URL}{old.pk}/activate/"' in client.get(URL).content.decode()
    response = client.post(f"{URL}{old.pk}/activate/")
    assert response.status_code == 302
    assert response["Location"] == URL
    [call] = activate.calls
    assert call == {"prompt": old, "actor": world.admin}
    assert "reengage v1 (en) is active." in client.get(URL).content.decode()


def test_only_admins_activate_and_unknown_versions_are_404(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = _version(1)
    activate = Calls(lambda *, prompt, actor: prompt)
    service_module(monkeypatch, "prompts", prompt_activate=activate)
    assert client_for(world.coach).post(f"{URL}{old.pk}/activate/").status_code == 403
    assert client_for(world.analyst).post(f"{URL}{old.pk}/activate/").status_code == 403
    missing = f"{URL}{world.learner.pk}/activate/"
    assert client_for(world.admin).post(missing).status_code == 404
    assert activate.calls == []
