"""The learner list at scale: its count, its rows (the serializer's, without the serializer), the
queries it runs (the same at any list length) and what pseudonymised callers get."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from engagement import crypto
from engagement.api.pagination import CappedCountPagination
from learners.api.serializers import LearnerOutputSerializer, learner_row_values, learner_rows
from learners.models import Learner, LearnerStatus, RiskBand
from learners.selectors import learner_queryset
from tests.contract.schema import api_schema, assert_documented
from tests.factories import CohortAssignmentFactory, CohortFactory, LearnerFactory, UserFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/learners/"
PERSONAL = {"source", "external_id", "name", "email"}


def client_for(role: str) -> tuple[APIClient, Any]:
    user = UserFactory(role=role)
    client = APIClient()
    client.force_authenticate(user)
    return client, user


@pytest.fixture
def cap_of_three(monkeypatch: pytest.MonkeyPatch) -> None:
    """Lists longer than three rows count as long lists (the schema, loaded once per run, is
    loaded first so that it keeps the real cap)."""
    api_schema()
    monkeypatch.setattr(CappedCountPagination, "exact_up_to", 3)


def _ids(response: Any) -> list[str]:
    return [row["id"] for row in response.json()["results"]]


def _varied_learners() -> list[Learner]:
    """Learners with every kind of value a row can hold: scored or not, finished or not,
    never active, no name."""
    now = timezone.now()
    return [
        cast(
            Learner,
            LearnerFactory(
                risk_score=0.83,
                risk_band=RiskBand.HIGH,
                risk_scored_at=now - timedelta(hours=2),
                last_active_at=now - timedelta(days=3),
            ),
        ),
        cast(Learner, LearnerFactory(name="", email="")),
        cast(
            Learner,
            LearnerFactory(
                status=LearnerStatus.COMPLETED,
                finished_at=datetime(2026, 11, 30, 17, 0, tzinfo=UTC),
                risk_score=0.1,
                risk_band=RiskBand.LOW,
                risk_scored_at=now,
                progress=1.0,
            ),
        ),
    ]


@pytest.mark.parametrize("zone", ["UTC", "America/New_York"])
def test_rows_are_what_the_serializer_writes(zone: str) -> None:
    learners = _varied_learners()
    admin = UserFactory(role="admin")
    with timezone.override(zone):
        rows = learner_rows(learner_row_values(learner_queryset(actor=admin), personal=True))
        expected = LearnerOutputSerializer(learner_queryset(actor=admin), many=True).data
    assert rows == [dict(row) for row in expected]
    assert len(rows) == len(learners)


@pytest.mark.parametrize("role", ["admin", "analyst"])
def test_list_rows_match_the_detail_for_each_role(role: str) -> None:
    learners = _varied_learners()
    client, _ = client_for(role)
    rows = {row["id"]: row for row in client.get(URL).json()["results"]}
    for learner in learners:
        assert rows[str(learner.id)] == client.get(f"{URL}{learner.id}/").json()


def test_analyst_rows_hold_no_personal_data_and_nothing_is_decrypted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    LearnerFactory.create_batch(4)
    decrypted: list[str] = []
    original = crypto.decrypt

    def counting(token: str) -> str:
        decrypted.append(token)
        return original(token)

    monkeypatch.setattr(crypto, "decrypt", counting)
    analyst, _ = client_for("analyst")
    rows = analyst.get(URL).json()["results"]
    assert len(rows) == 4 and not any(PERSONAL & set(row) for row in rows)
    assert decrypted == []
    admin, _ = client_for("admin")
    rows = admin.get(URL, {"page_size": 2}).json()["results"]
    assert set(rows[0]) >= PERSONAL
    # Only the page is read (and its one extra row, which tells that a next page exists).
    assert 0 < len(decrypted) <= 2 * 3


def _queries(client: APIClient, params: dict[str, Any]) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(URL, params).status_code == 200
    return len(queries)


@pytest.mark.parametrize("role", ["admin", "coach"])
def test_queries_are_the_same_at_any_length(role: str, monkeypatch: pytest.MonkeyPatch) -> None:
    client, user = client_for(role)
    cohort = CohortFactory()
    if role == "coach":
        CohortAssignmentFactory(user=user, cohort=cohort)
    LearnerFactory.create_batch(3, cohort=CohortFactory())  # outside a coach's scope
    counts = []
    for size in (5, 40):
        LearnerFactory.create_batch(
            size - Learner.objects.filter(cohort=cohort).count(), cohort=cohort
        )
        cache.clear()
        exact = _queries(client, {"page_size": 2})  # rows, capped count
        monkeypatch.setattr(CappedCountPagination, "exact_up_to", 3)
        cache.clear()
        long = _queries(client, {"page_size": 2})  # rows, capped count, whole count
        cached = _queries(client, {"page_size": 2})  # rows: the count is cached
        pages = -(-(size + 3 if role == "admin" else size) // 2)
        last = _queries(client, {"page_size": 2, "page": pages})  # rows: no next page
        monkeypatch.undo()
        counts.append((exact, long, cached, last))
    # On PostgreSQL a coach's rows are read cohort by cohort: one more query, the cohort ids.
    extra = int(role == "coach" and connection.vendor == "postgresql")
    assert counts == [(2 + extra, 3 + extra, 1 + extra, 1 + extra)] * 2


def test_a_list_that_fits_its_page_needs_no_count() -> None:
    LearnerFactory.create_batch(3)
    client, _ = client_for("admin")
    assert _queries(client, {}) == 1
    body = client.get(URL).json()
    assert (body["count"], body["count_exact"], body["next"], body["previous"]) == (
        3,
        True,
        None,
        None,
    )


def test_count_is_exact_up_to_the_cap() -> None:
    LearnerFactory.create_batch(7)
    client, _ = client_for("admin")
    with CaptureQueriesContext(connection) as queries:
        body = client.get(URL, {"page_size": 3}).json()
    assert (body["count"], body["count_exact"]) == (7, True)
    assert len(queries) == 2
    assert "LIMIT 1001" in queries[1]["sql"] and "learners_cohort" not in queries[1]["sql"]


@pytest.mark.usefixtures("cap_of_three")
def test_past_the_cap_the_count_is_cached_and_says_so() -> None:
    cohort = CohortFactory()
    LearnerFactory.create_batch(5, cohort=cohort)
    client, _ = client_for("admin")
    response = client.get(URL, {"page_size": 2})
    assert_documented(response, path="/api/v1/learners/", method="GET")
    body = response.json()
    assert (body["count"], body["count_exact"], len(body["results"])) == (5, False, 2)
    LearnerFactory.create_batch(2, cohort=cohort)
    body = client.get(URL, {"page_size": 2}).json()
    assert (body["count"], body["count_exact"]) == (5, False)  # the cached count lags
    assert body["next"] is not None
    last = client.get(URL, {"page_size": 2, "page": 4}).json()
    assert (last["count"], last["count_exact"], last["next"]) == (7, True, None)
    last = client.get(URL, {"page_size": 2, "page": "last"}).json()  # counted, never stale
    assert (last["count"], last["count_exact"], len(last["results"])) == (7, True, 1)
    cache.clear()
    assert client.get(URL, {"page_size": 2}).json()["count"] == 7


@pytest.mark.usefixtures("cap_of_three")
def test_each_scope_has_its_own_cached_count() -> None:
    mine, theirs = CohortFactory(), CohortFactory()
    LearnerFactory.create_batch(4, cohort=mine)
    LearnerFactory.create_batch(6, cohort=theirs)
    admin, _ = client_for("admin")
    coach, user = client_for("coach")
    CohortAssignmentFactory(user=user, cohort=mine)
    assert admin.get(URL, {"page_size": 2}).json()["count"] == 10
    assert coach.get(URL, {"page_size": 2}).json()["count"] == 4
    assert admin.get(URL, {"page_size": 2, "cohort": str(theirs.id)}).json()["count"] == 6


def test_links_and_pages() -> None:
    LearnerFactory.create_batch(5)
    client, _ = client_for("admin")
    middle = client.get(URL, {"page_size": 2, "page": 2}).json()
    assert middle["next"].endswith("page=3&page_size=2") or "page=3" in middle["next"]
    assert "page=" not in middle["previous"].replace("page_size", "")
    last = client.get(URL, {"page_size": 2, "page": "last"}).json()
    assert (len(last["results"]), last["next"], last["count"]) == (1, None, 5)
    assert "page=2" in last["previous"]
    for page in ("0", "-1", "4", "two", "1.0", "9" * 30):
        response = client.get(URL, {"page_size": 2, "page": page})
        assert response.status_code == 404, page
        assert response.json()["detail"] == "Invalid page."
    empty = client.get(URL, {"cohort": str(CohortFactory().id)}).json()
    assert (empty["count"], empty["count_exact"], empty["results"]) == (0, True, [])


ORDERINGS: dict[str, Callable[[Learner], Any]] = {
    "risk": lambda learner: learner.risk_score,
    "last_active": lambda learner: learner.last_active_at,
    "enrolled": lambda learner: learner.enrolled_at,
}


@pytest.mark.parametrize("ordering", ["", *ORDERINGS, *(f"-{name}" for name in ORDERINGS)])
def test_walking_the_pages_gives_every_learner_once_in_order(ordering: str) -> None:
    """Ties and missing values included: a missing value sorts lowest, the id breaks ties."""
    start = datetime(2026, 9, 1, tzinfo=UTC)
    learners = [
        LearnerFactory(
            external_id=f"E{index % 4}",
            source=f"s{index}",
            risk_score=None if index % 5 == 0 else round((index % 3) / 3, 2),
            last_active_at=None if index % 4 == 0 else start + timedelta(days=index % 2),
            enrolled_at=start - timedelta(days=index % 3),
        )
        for index in range(11)
    ]
    if ordering:
        value = ORDERINGS[ordering.removeprefix("-")]

        def key(learner: Learner) -> tuple:
            return (value(learner) is not None, value(learner) or 0, str(learner.id))

        expected = sorted(learners, key=key, reverse=ordering.startswith("-"))
    else:
        expected = sorted(learners, key=lambda learner: (learner.external_id, str(learner.id)))
    client, _ = client_for("admin")
    params = {"page_size": 3, "ordering": ordering} if ordering else {"page_size": 3}
    response = client.get(URL, params)
    seen = _ids(response)
    while response.json()["next"]:
        response = client.get(response.json()["next"])
        seen += _ids(response)
    assert seen == [str(learner.id) for learner in expected]


@pytest.mark.parametrize("ordering", ["", "-enrolled", "last_active", "-risk"])
def test_a_coach_walks_the_same_pages_as_an_admin_filtering_their_cohorts(ordering: str) -> None:
    """A coach's page is cut from each cohort's first rows (on PostgreSQL): the same rows."""
    mine, also_mine, theirs = CohortFactory(), CohortFactory(), CohortFactory()
    coach, user = client_for("coach")
    for cohort in (mine, also_mine):
        CohortAssignmentFactory(user=user, cohort=cohort)
    start = datetime(2026, 9, 1, tzinfo=UTC)
    for index in range(21):
        LearnerFactory(
            cohort=(mine, also_mine, theirs)[index % 3],
            external_id=f"E{index % 5}",
            source=f"s{index}",
            risk_score=None if index % 4 == 0 else (index % 6) / 6,
            last_active_at=start + timedelta(days=index % 3),
            enrolled_at=start - timedelta(days=index),
        )
    admin, _ = client_for("admin")

    def walk(client: APIClient, **extra: str) -> tuple[list[str], int]:
        params = {"page_size": 4, **extra, **({"ordering": ordering} if ordering else {})}
        response = client.get(URL, params)
        seen, pages = _ids(response), 1
        while response.json()["next"]:
            response = client.get(response.json()["next"])
            seen, pages = seen + _ids(response), pages + 1
        return seen, pages

    from_coach = walk(coach)
    mine_only = {str(learner.id) for learner in Learner.objects.exclude(cohort=theirs)}
    expected = [row for row in walk(admin)[0] if row in mine_only]
    assert from_coach == (expected, 4)
    with CaptureQueriesContext(connection) as queries:
        coach.get(URL, {"page_size": 4, "page": 2, "ordering": ordering})
    assert any("UNION" in query["sql"] for query in queries) is (connection.vendor == "postgresql")


def test_the_schema_documents_the_count_for_this_list_only() -> None:
    schema = api_schema().raw_schema["components"]["schemas"]
    learners = schema["PaginatedLearnerOutputList"]
    assert "count_exact" in learners["required"]
    assert "1,000" in learners["properties"]["count"]["description"]
    assert "count_exact" not in schema["PaginatedRiskAssessmentOutputList"]["properties"]
    assert "count_exact" not in schema["PaginatedCoachNoteOutputList"]["properties"]


def test_the_list_orders_have_indexes() -> None:
    with connection.cursor() as cursor:
        names = set(connection.introspection.get_constraints(cursor, "learners_learner"))
    assert {
        "learner_external_id_order",
        "learner_risk_order",
        "learner_last_active_order",
        "learner_enrolled_order",
    } <= names


@pytest.mark.parametrize("role", ["admin", "coach"])
def test_no_filter_makes_the_list_distinct(role: str) -> None:
    """Every filter reads the learner's own columns (or an EXISTS): no join repeats a row, so
    no DISTINCT, which made PostgreSQL sort and count the whole list."""
    client, user = client_for(role)
    cohort = CohortFactory()
    if role == "coach":
        CohortAssignmentFactory(user=user, cohort=cohort)
    LearnerFactory.create_batch(2, cohort=cohort, risk_band=RiskBand.HIGH, risk_score=0.9)
    params = {
        "risk_band": ["high", "medium"],
        "status": ["active"],
        "unattended": "true",
        "inactive_days": 1,
        "risk_min": 0.5,
        "cohort": str(cohort.id),
        "page_size": 1,
    }
    with CaptureQueriesContext(connection) as queries:
        body = client.get(URL, params).json()
    assert body["count"] == 2
    assert len(queries) >= 2 and not any("DISTINCT" in query["sql"] for query in queries)
