"""The read replica: list reads go there when safe; writes, and reads that follow them, never do.

In tests the replica alias is a mirror of the test database reached through its own connection
(tests/conftest.py), so the queries each connection ran show where a read went.
"""

from typing import Any

import pytest
from django.db import DEFAULT_DB_ALIAS, connections, router, transaction
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from engagement.db_routing import REPLICA_DB_ALIAS, replica_read_alias, unit_of_work
from learners import selectors
from learners.models import Learner
from tests.factories import LearnerFactory

pytestmark = pytest.mark.django_db(transaction=True, databases=[DEFAULT_DB_ALIAS, REPLICA_DB_ALIAS])


def _learner_queries(captured: CaptureQueriesContext) -> list[str]:
    table = Learner._meta.db_table
    return [query["sql"] for query in captured.captured_queries if table in query["sql"]]


def test_a_learner_list_read_goes_to_the_replica(auth_client: APIClient) -> None:
    learner = LearnerFactory()
    with (
        CaptureQueriesContext(connections[REPLICA_DB_ALIAS]) as replica,
        CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as primary,
    ):
        response = auth_client.get("/api/v1/learners/")
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [str(learner.id)]
    assert _learner_queries(replica)
    assert not _learner_queries(primary)


def test_a_write_never_goes_to_the_replica(auth_client: APIClient) -> None:
    learner = LearnerFactory()
    with CaptureQueriesContext(connections[REPLICA_DB_ALIAS]) as replica:
        response = auth_client.patch(
            f"/api/v1/learners/{learner.id}/", {"status": "paused"}, format="json"
        )
    assert response.status_code == 200
    assert Learner.objects.get(pk=learner.pk).status == "paused"
    writes = ("INSERT", "UPDATE", "DELETE")
    assert not [query for query in replica.captured_queries if query["sql"].startswith(writes)]
    replica_copy = Learner.objects.using(REPLICA_DB_ALIAS).get(pk=learner.pk)
    assert router.db_for_write(Learner, instance=replica_copy) == DEFAULT_DB_ALIAS


def test_reads_inside_a_transaction_stay_on_the_primary(user: Any) -> None:
    with unit_of_work():
        with transaction.atomic():
            assert selectors.learner_list(actor=user).db == DEFAULT_DB_ALIAS
        assert selectors.learner_list(actor=user).db == REPLICA_DB_ALIAS


def test_reads_after_a_write_in_the_same_unit_of_work_stay_on_the_primary() -> None:
    with unit_of_work():
        assert replica_read_alias() == REPLICA_DB_ALIAS
        LearnerFactory()
        assert replica_read_alias() == DEFAULT_DB_ALIAS
    with unit_of_work():
        assert replica_read_alias() == REPLICA_DB_ALIAS


def test_the_replica_is_never_migrated() -> None:
    assert not router.allow_migrate(REPLICA_DB_ALIAS, "learners")
    assert router.allow_migrate(DEFAULT_DB_ALIAS, "learners")
