"""LLM usage and cost: the selector, ``GET /api/v1/llm/usage/`` and the admin."""

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from nudges.llm.calls import llm_call_record
from nudges.llm.selectors import llm_usage
from nudges.models import LLMCall, PromptTemplate
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/llm/usage/"


def _call(day: date, **fields: Any) -> LLMCall:
    values = {"prompt_id": None, "model": "gpt-4o-mini", "purpose": "nudge", "outcome": "ok"}
    call = llm_call_record(**{**values, **fields})
    at = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
    LLMCall.objects.filter(pk=call.pk).update(created_at=at)
    return call


@pytest.fixture
def calls() -> PromptTemplate:
    prompt = PromptTemplate.objects.create(
        key="reengage", version=2, system_text="s", user_text="u"
    )
    _call(date(2026, 3, 1), prompt_id=prompt.pk, tokens_in=1000, tokens_out=500)
    _call(date(2026, 3, 2), prompt_id=prompt.pk, cache_hit=True)
    _call(date(2026, 3, 2), model="gpt-4o", tokens_in=1_000_000, tokens_out=100_000)
    _call(date(2026, 3, 3), outcome="server_error", attempts=4, error_class="InternalServerError")
    _call(date(2026, 4, 1), tokens_in=10, tokens_out=10)
    return prompt


def test_usage_totals_and_groups(calls: PromptTemplate, django_assert_num_queries: Any) -> None:
    with django_assert_num_queries(4):
        usage = llm_usage(since=date(2026, 3, 1), until=date(2026, 3, 31))

    assert (usage["calls"], usage["cache_hits"]) == (4, 1)
    assert (usage["tokens_in"], usage["tokens_out"]) == (1_001_000, 100_500)
    assert usage["cost"] == Decimal("0.000450") + Decimal("3.500000")
    assert [(row["outcome"], row["calls"]) for row in usage["by_outcome"]] == [
        ("ok", 3),
        ("server_error", 1),
    ]
    assert [(row["model"], row["calls"], row["cost"]) for row in usage["by_model"]] == [
        ("gpt-4o", 1, Decimal("3.500000")),
        ("gpt-4o-mini", 3, Decimal("0.000450")),
    ]
    by_prompt = {row["version"]: row for row in usage["by_prompt_version"]}
    assert by_prompt[2]["prompt"] == calls.pk and by_prompt[2]["key"] == "reengage"
    assert (by_prompt[2]["calls"], by_prompt[2]["cache_hits"]) == (2, 1)
    assert by_prompt[None]["calls"] == 2


def test_both_days_of_the_range_are_included(calls: PromptTemplate) -> None:
    assert llm_usage(since=date(2026, 3, 2), until=date(2026, 3, 2))["calls"] == 2
    assert llm_usage(since=date(2026, 3, 3))["calls"] == 2
    assert llm_usage()["calls"] == 5


def test_no_calls_is_zero_not_null() -> None:
    usage = llm_usage(since=date(2026, 1, 1))

    assert (usage["calls"], usage["tokens_in"], usage["cost"]) == (0, 0, Decimal(0))
    assert usage["by_outcome"] == usage["by_model"] == usage["by_prompt_version"] == []


@pytest.mark.parametrize("role", ["admin", "analyst"])
def test_admins_and_analysts_read_usage(
    calls: PromptTemplate, api_client: APIClient, role: str
) -> None:
    api_client.force_authenticate(UserFactory(role=role))

    response = api_client.get(URL, {"since": "2026-03-01", "until": "2026-03-31"})

    assert response.status_code == 200, response.data
    body = response.json()
    assert (body["calls"], body["cache_hits"], body["cost"]) == (4, 1, "3.500450")
    assert (body["since"], body["until"]) == ("2026-03-01", "2026-03-31")
    assert {row["outcome"] for row in body["by_outcome"]} == {"ok", "server_error"}
    assert {row["model"] for row in body["by_model"]} == {"gpt-4o", "gpt-4o-mini"}
    assert {row["version"] for row in body["by_prompt_version"]} == {2, None}


def test_coaches_may_not_read_usage(api_client: APIClient) -> None:
    api_client.force_authenticate(UserFactory(role="coach"))

    assert api_client.get(URL).status_code == 403


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"since": "2026-03-31", "until": "2026-03-01"}, "until"),
        ({"since": "yesterday"}, "since"),
        ({"until": "2026-02-30"}, "until"),
    ],
)
def test_bad_dates_are_refused_with_the_field(
    api_client: APIClient, query: dict[str, str], field: str
) -> None:
    api_client.force_authenticate(UserFactory(role="admin"))

    response = api_client.get(URL, query)

    assert response.status_code == 400
    assert field in response.json()


def test_llm_calls_are_read_only_in_the_admin(calls: PromptTemplate, client: Client) -> None:
    client.force_login(UserFactory(role="admin"))
    call = LLMCall.objects.filter(outcome="server_error").get()

    page = client.get("/admin/nudges/llmcall/")
    assert page.status_code == 200
    assert "InternalServerError" in page.content.decode()
    assert client.get(f"/admin/nudges/llmcall/{call.pk}/change/").status_code == 200
    assert client.get("/admin/nudges/llmcall/add/").status_code == 403
    deleted = client.post(f"/admin/nudges/llmcall/{call.pk}/delete/", {"post": "yes"})
    assert deleted.status_code == 403
    assert LLMCall.objects.filter(pk=call.pk).exists()
