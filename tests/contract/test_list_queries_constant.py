"""Reads cost the same number of queries whatever the amount of data: every API read route and
every dashboard page, asked over one world of data and again after three more were added.

A read whose count grows with its rows runs a query per row (an N+1), which the lists of a
100,000-learner deployment cannot afford. The cache is emptied before every request, so each
count is the full cost of an uncached read.
"""

from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from learners.models import Cohort
from tests.contract.test_reads_never_write import api_read_paths, dashboard_paths
from tests.contract.world import build_world
from tests.factories import CohortAssignmentFactory, UserFactory

pytestmark = pytest.mark.django_db

#: Worlds added before the second count: each one adds a row to every list.
MORE_WORLDS = ("-2", "-3", "-4")


def _query_counts(client: Client, paths: list[str]) -> dict[str, tuple[int, int]]:
    """Each path's status and number of queries, with an empty cache."""
    counts = {}
    for path in paths:
        cache.clear()
        with CaptureQueriesContext(connection) as queries:
            response = client.get(path)
            if response.streaming:  # a streamed CSV reads as it is sent
                b"".join(response.streaming_content)
        counts[path] = (response.status_code, len(queries))
    return counts


#: Lists that every world lengthens, for both roles.
GROWING_LISTS = ("/api/v1/learners/", "/api/v1/nudges/", "/api/v1/cohorts/", "/api/v1/campaigns/")


def _list_lengths(client: Client) -> dict[str, int]:
    return {path: client.get(path).json()["count"] for path in GROWING_LISTS}


def _assign_every_cohort(user: Any) -> None:
    for cohort in Cohort.objects.exclude(assignments__user=user):
        CohortAssignmentFactory(user=user, cohort=cohort)


@pytest.mark.parametrize("role", ["admin", "coach"])
def test_no_read_makes_more_queries_when_there_is_more_data(client: Client, role: str) -> None:
    world = build_world()
    user = world["user"] if role == "admin" else UserFactory(role=role)
    if role == "coach":
        _assign_every_cohort(user)
    client.force_login(user)
    paths = [*api_read_paths(world["ids"]), *dashboard_paths(world["route_ids"])]
    before = _query_counts(client, paths)
    listed = _list_lengths(client)
    for tag in MORE_WORLDS:
        build_world(tag)
    if role == "coach":
        _assign_every_cohort(user)
    after = _query_counts(client, paths)
    assert all(length > listed[path] for path, length in _list_lengths(client).items()), (
        "every world adds rows to these lists"
    )
    assert {path: status for path, (status, _) in after.items()} == {
        path: status for path, (status, _) in before.items()
    }
    grown = {
        path: f"{before[path][1]} → {after[path][1]} queries"
        for path in paths
        if after[path][1] != before[path][1]
    }
    assert grown == {}
    assert sum(status == 200 for status, _ in after.values()) >= 40
