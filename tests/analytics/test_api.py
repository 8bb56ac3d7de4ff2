"""The analytics API: staff only, coach scoped, bad parameters refused, CSV on request."""

import csv
import io
from datetime import timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.utils import timezone
from rest_framework.test import APIClient

from analytics.services import snapshots_write
from engagement.api_keys import api_key_create
from engagement.registry import registry
from tests.analytics.conftest import MARKER, assess
from tests.factories import LearnerFactory

pytestmark = pytest.mark.django_db

TABLES = ["cohorts", "engagement-trend", "risk-trend", "caseloads", "attention"]
ENDPOINTS = ["overview", *TABLES, "cohort-cards", "changes"]


@pytest.fixture
def data(world: dict[str, Any]) -> dict[str, Any]:
    cache.clear()
    now = timezone.now()
    for cohort, name in ((world["cohort"], f"Ann {MARKER}"), (world["other"], "Bob Hidden")):
        learner = LearnerFactory(cohort=cohort, name=name, enrolled_at=now - timedelta(days=20))
        assess(learner, world["model"], now - timedelta(days=2), "low", 0.2)
        assess(learner, world["model"], now - timedelta(hours=1), "high", 0.9, current=True)
    snapshots_write(now=now)
    return world


def _client(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _url(name: str) -> str:
    return f"/api/v1/analytics/{name}/"


@pytest.mark.parametrize("name", ENDPOINTS)
def test_anonymous_callers_and_api_keys_are_refused(data: dict[str, Any], name: str) -> None:
    assert APIClient().get(_url(name)).status_code == 401
    key = api_key_create(
        name="all", scopes=list(registry.api_key_scopes()), created_by=data["admin"]
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key.secret}")
    response = client.get(_url(name))
    assert response.status_code == 403
    assert "for staff users" in response.json()["detail"]


@pytest.mark.parametrize("name", ENDPOINTS)
@pytest.mark.parametrize("role", ["admin", "coach", "analyst"])
def test_staff_read_every_endpoint(data: dict[str, Any], name: str, role: str) -> None:
    response = _client(data[role]).get(_url(name))
    assert response.status_code == 200, response.content[:300]


def test_overview_shape(data: dict[str, Any]) -> None:
    body = _client(data["admin"]).get(_url("overview")).json()
    assert body["high_risk"]["value"] == 2
    assert body["nudges_sent"] == {
        "value": 0.0,
        "previous": None,
        "change": None,
        "reference_day": None,
        "available": True,
        "period_start": timezone.now().date().replace(day=1).isoformat(),
        "note": "",
    }


def test_a_coach_sees_only_their_cohorts(data: dict[str, Any]) -> None:
    client = _client(data["coach"])
    assert [row["name"] for row in client.get(_url("cohorts")).json()] == ["Alpha cohort"]
    assert client.get(_url("overview")).json()["high_risk"]["value"] == 1
    assert client.get(_url("risk-trend")).json()[-1]["high"] == 1
    [card] = client.get(_url("cohort-cards")).json()
    assert (card["name"], card["coaches"]) == ("Alpha cohort", ["Cora Coach"])
    [row] = client.get(_url("attention")).json()
    assert row["cohort_name"] == "Alpha cohort"
    assert client.get(_url("changes")).json()["became_high"] == 1
    for name in ENDPOINTS:
        assert "Bob Hidden" not in client.get(_url(name)).content.decode()
        assert "Beta cohort" not in client.get(_url(name)).content.decode()


def test_analysts_get_pseudonyms(data: dict[str, Any]) -> None:
    client = _client(data["analyst"])
    for name in ENDPOINTS:
        assert MARKER not in client.get(_url(name)).content.decode()
        assert MARKER not in client.get(_url(name), {"format": "csv"}).content.decode()
    labels = [row["label"] for row in client.get(_url("attention")).json()]
    assert len(labels) == 2
    assert all(label.startswith("Learner ") for label in labels)
    admin = _client(data["admin"]).get(_url("attention")).json()
    assert f"Ann {MARKER}" in [row["label"] for row in admin]


@pytest.mark.parametrize("name", ["engagement-trend", "risk-trend"])
@pytest.mark.parametrize(
    ("days", "why"),
    [
        ("0", "greater than or equal to 1"),
        ("abc", "valid integer"),
        ("10000", "less than or equal to 365"),
        ("-3", "greater than or equal to 1"),
    ],
)
def test_bad_days_are_refused(data: dict[str, Any], name: str, days: str, why: str) -> None:
    for extra in ({}, {"format": "csv"}):
        response = _client(data["admin"]).get(_url(name), {"days": days, **extra})
        assert response.status_code == 400
        assert response["Content-Type"].startswith("application/json")
        assert why in response.json()["days"][0]


@pytest.mark.parametrize("name", TABLES)
def test_every_table_answers_csv(data: dict[str, Any], name: str) -> None:
    client = _client(data["admin"])
    for response in (
        client.get(_url(name), {"format": "csv"}),
        client.get(_url(name), HTTP_ACCEPT="text/csv"),
    ):
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/csv")
        assert response["Content-Disposition"].startswith("attachment; filename=")
        assert response["Content-Disposition"].endswith('.csv"')
        rows = list(csv.reader(io.StringIO(response.content.decode())))
        json_rows = client.get(_url(name)).json()
        assert len(rows) == 1 + len(json_rows)
        assert rows[0]


def test_csv_columns_spread_event_kinds(data: dict[str, Any]) -> None:
    response = _client(data["admin"]).get(_url("engagement-trend"), {"format": "csv"})
    header = response.content.decode().splitlines()[0].split(",")
    assert header[:4] == ["day", "active_learners", "events_total", "events_login"]


def test_an_empty_table_still_has_its_header(world: dict[str, Any]) -> None:
    response = _client(world["outsider"]).get(_url("caseloads"), {"format": "csv"})
    assert response.content.decode().strip() == (
        "coach_id,coach_name,cohorts,learners,high_risk,high_risk_without_action"
    )


def test_trends_list_every_day_with_blanks_where_no_snapshot_exists(data: dict[str, Any]) -> None:
    client = _client(data["admin"])
    days = client.get(_url("risk-trend"), {"days": 3}).json()
    assert [day["high"] for day in days] == [None, None, 2]
    lines = client.get(_url("risk-trend"), {"days": 3, "format": "csv"}).content.decode()
    assert lines.splitlines()[1].endswith(",,,,,")


def test_cohort_cards_answer_the_cohorts_page(data: dict[str, Any]) -> None:
    client = _client(data["admin"])
    cards = client.get(_url("cohort-cards"), {"days": 2}).json()
    alpha = next(card for card in cards if card["name"] == "Alpha cohort")
    assert alpha["coaches"] == ["Cora Coach"]
    assert (alpha["studying"], alpha["high_risk"]) == (1, 1)
    today = timezone.now().date()
    assert alpha["high_risk_trend"] == [
        {"day": (today - timedelta(days=1)).isoformat(), "high": None},
        {"day": today.isoformat(), "high": 1},
    ]
    response = client.get(_url("cohort-cards"), {"days": 2, "format": "csv"})
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert len(rows) == 2 * len(cards)  # one line per cohort and day
    assert {"cohort_id", "name", "coaches", "day", "high"} <= set(rows[0])
    assert client.get(_url("cohort-cards"), {"days": "0"}).status_code == 400


def test_changes_answer_csv_rows(data: dict[str, Any]) -> None:
    response = _client(data["admin"]).get(_url("changes"), {"format": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [row["change"] for row in rows] == ["became_high", "became_high"]
    assert {row["band_now"] for row in rows} == {"high"}
    assert list(rows[0])[:2] == ["change", "learner_id"]


def test_figures_do_not_depend_on_the_viewers_zone(data: dict[str, Any]) -> None:
    """A browser session activates the viewer's zone; the API's times stay in UTC."""
    data["admin"].timezone = "Asia/Tokyo"
    data["admin"].save(update_fields=["timezone"])
    client = APIClient()
    client.force_login(data["admin"])
    for name in ("overview", "changes", "attention"):
        body = client.get(_url(name)).content.decode()
        assert "+09:00" not in body
    as_of = client.get(_url("overview")).json()["as_of"]
    assert as_of.endswith("Z")


def test_the_schema_documents_the_endpoints(data: dict[str, Any]) -> None:
    schema = _client(data["admin"]).get("/api/schema/", {"format": "json"}).json()
    for name in ENDPOINTS:
        assert f"/api/v1/analytics/{name}/" in schema["paths"]
    parameters = schema["paths"]["/api/v1/analytics/risk-trend/"]["get"]["parameters"]
    assert "days" in [parameter["name"] for parameter in parameters]
    for name in [*TABLES, "cohort-cards", "changes"]:
        content = schema["paths"][f"/api/v1/analytics/{name}/"]["get"]["responses"]["200"][
            "content"
        ]
        assert content["text/csv"]["schema"] == {"type": "string"}
        assert "application/json" in content
