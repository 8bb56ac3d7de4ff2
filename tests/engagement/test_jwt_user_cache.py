"""The user a JWT names, cached with its revocation: no query per request, yet a deactivation,
a new role or a deletion applies to the very next request, and a revoked token stays refused."""

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from engagement.accounts import user_deactivate
from engagement.auth_tokens import token_user_remember
from engagement.models import Role, User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _user_cache_on(settings: Any) -> None:
    settings.JWT_USER_CACHE_SECONDS = 30


def _signed_in(client: APIClient, user: User) -> dict[str, str]:
    tokens = client.post(
        "/api/v1/auth/token/", {"username": user.username, "password": "a-Strong-pass-123"}
    ).data
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    return tokens


def _user_reads(client: APIClient, path: str) -> tuple[int, int]:
    """The answer's status and how many of its queries read the users table."""
    with CaptureQueriesContext(connection) as queries:
        status = client.get(path).status_code
    table = User._meta.db_table
    reads = [q for q in queries if q["sql"].startswith("SELECT") and f'FROM "{table}"' in q["sql"]]
    return status, len(reads)


def test_the_second_request_reads_no_user(api_client: APIClient) -> None:
    _signed_in(api_client, UserFactory(role="admin"))
    assert _user_reads(api_client, "/api/v1/users/")[0] == 200
    status, reads = _user_reads(api_client, "/api/v1/cohorts/")
    assert (status, reads) == (200, 0)


def test_with_caching_off_every_request_reads_its_user(
    api_client: APIClient, settings: Any
) -> None:
    settings.JWT_USER_CACHE_SECONDS = 0
    _signed_in(api_client, UserFactory(role="admin"))
    assert _user_reads(api_client, "/api/v1/cohorts/") == (200, 1)
    assert _user_reads(api_client, "/api/v1/cohorts/") == (200, 1)


def test_a_deactivation_applies_to_the_next_request(api_client: APIClient) -> None:
    user = UserFactory(role="coach")
    _signed_in(api_client, user)
    assert api_client.get("/api/v1/cohorts/").status_code == 200
    user_deactivate(actor=None, user=user)
    assert api_client.get("/api/v1/cohorts/").status_code == 401


def test_a_user_cached_while_its_change_commits_is_dropped_at_commit(
    api_client: APIClient, django_capture_on_commit_callbacks: Any
) -> None:
    user = UserFactory(role="coach")
    _signed_in(api_client, user)
    before_the_change = User.objects.get(pk=user.pk)
    with django_capture_on_commit_callbacks(execute=True):
        user_deactivate(actor=None, user=user)
        token_user_remember(before_the_change)  # a request that read the row before the commit
    assert api_client.get("/api/v1/cohorts/").status_code == 401


def test_a_new_role_applies_to_the_next_request(api_client: APIClient) -> None:
    user = UserFactory(role="admin", is_superuser=False)
    _signed_in(api_client, user)
    assert api_client.get("/api/v1/users/").status_code == 200
    user.role = Role.COACH
    user.save()
    assert api_client.get("/api/v1/users/").status_code == 403


def test_a_deleted_user_is_refused_at_once(api_client: APIClient) -> None:
    user = UserFactory(role="admin")
    _signed_in(api_client, user)
    assert api_client.get("/api/v1/cohorts/").status_code == 200
    User.objects.filter(pk=user.pk).delete()
    assert api_client.get("/api/v1/cohorts/").status_code == 401


def test_a_revoked_token_is_refused_though_its_user_is_cached(api_client: APIClient) -> None:
    tokens = _signed_in(api_client, UserFactory(role="admin"))
    assert api_client.get("/api/v1/cohorts/").status_code == 200
    logout = api_client.post("/api/v1/auth/logout/", {"refresh": tokens["refresh"]})
    assert logout.status_code == 204
    refused = api_client.get("/api/v1/cohorts/")
    assert refused.status_code == 401
    assert "revoked" in str(refused.json())
