import pytest
from rest_framework.test import APIClient

from tests.factories import LearnerFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_jwt_obtain_refresh_verify_and_use(api_client: APIClient) -> None:
    UserFactory(username="coach1")
    LearnerFactory()
    tokens = api_client.post(
        "/api/v1/auth/token/", {"username": "coach1", "password": "a-Strong-pass-123"}
    )
    assert tokens.status_code == 200
    assert (
        api_client.post("/api/v1/auth/token/verify/", {"token": tokens.data["access"]}).status_code
        == 200
    )
    refreshed = api_client.post("/api/v1/auth/token/refresh/", {"refresh": tokens.data["refresh"]})
    assert refreshed.status_code == 200
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {refreshed.data['access']}")
    assert api_client.get("/api/v1/learners/").data["count"] == 1


def test_bad_credentials_and_tokens_are_401(api_client: APIClient) -> None:
    UserFactory(username="coach1")
    assert (
        api_client.post(
            "/api/v1/auth/token/", {"username": "coach1", "password": "wrong"}
        ).status_code
        == 401
    )
    assert api_client.post("/api/v1/auth/token/verify/", {"token": "garbage"}).status_code == 401
    api_client.credentials(HTTP_AUTHORIZATION="Bearer garbage")
    response = api_client.get("/api/v1/learners/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_inactive_users_are_refused(api_client: APIClient) -> None:
    user = UserFactory(is_active=False)
    api_client.force_authenticate(user)
    assert api_client.get("/api/v1/learners/").status_code == 403


def test_session_login_works_for_the_browsable_api(client) -> None:
    UserFactory(username="coach1")
    assert client.login(username="coach1", password="a-Strong-pass-123")
    assert client.get("/api/v1/cohorts/").status_code == 200


def test_schema_describes_every_endpoint(auth_client: APIClient) -> None:
    response = auth_client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in (
        "/api/v1/cohorts/",
        "/api/v1/learners/{id}/",
        "/api/v1/learners/{id}/events/",
        "/api/v1/events/",
    ):
        assert path in paths
    learner_list = paths["/api/v1/learners/"]["get"]
    assert {"cohort", "risk_band", "inactive_days", "ordering", "page"} <= {
        p["name"] for p in learner_list["parameters"]
    }
    assert "requestBody" in paths["/api/v1/events/"]["post"]


def test_swagger_ui_is_served_without_a_cdn(auth_client: APIClient) -> None:
    response = auth_client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    assert "cdn" not in html.lower()
    assert "/static/drf_spectacular_sidecar/" in html


@pytest.mark.parametrize("role", ["admin", "coach", "analyst"])
@pytest.mark.parametrize(
    "path", ["/api/v1/events/", "/api/v1/risk/rescore/", "/api/v1/auth/logout/"]
)
def test_a_method_a_route_lacks_is_405_for_every_role_not_403(role: str, path: str) -> None:
    client = APIClient()
    client.force_authenticate(UserFactory(role=role))
    response = client.get(path)
    assert response.status_code == 405
    assert response.json() == {"detail": 'Method "GET" not allowed.'}
    assert APIClient().get(path).status_code == 401
