"""What only a real Redis shows: cached learner details live in Redis and are cleared there."""

import pytest
from django_redis import get_redis_connection
from rest_framework.test import APIClient

from learners.cache import learner_detail_key
from tests.factories import LearnerFactory


@pytest.mark.redis
@pytest.mark.django_db
def test_learner_detail_is_cached_in_redis_and_cleared_on_change(auth_client: APIClient) -> None:
    learner = LearnerFactory()
    redis = get_redis_connection("default")
    auth_client.get(f"/api/v1/learners/{learner.id}/")
    stored = redis.keys(f"*{learner_detail_key(learner.id)}")
    assert len(stored) == 1
    assert 0 < redis.ttl(stored[0]) <= 30 * 60
    auth_client.patch(f"/api/v1/learners/{learner.id}/", {"name": "Changed"}, format="json")
    assert redis.keys(f"*{learner_detail_key(learner.id)}") == []
