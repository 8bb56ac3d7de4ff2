"""A refresh token rotates once: concurrent uses of one token yield exactly one new pair."""

from concurrent.futures import ThreadPoolExecutor
from threading import Barrier
from typing import cast

import pytest
from django.db import connection
from rest_framework.test import APIClient
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import RefreshToken

from engagement.auth_tokens import SingleUseRefreshToken
from engagement.models import User
from tests.factories import UserFactory

CONCURRENT_USES = 6


def test_a_token_checked_before_another_rotation_cannot_rotate_again(db: None) -> None:
    """The interleaving of a race, step by step: both callers pass the blacklist check first."""
    raw = str(RefreshToken.for_user(cast(User, UserFactory())))
    loser = SingleUseRefreshToken(raw)
    SingleUseRefreshToken(raw).blacklist()
    with pytest.raises(TokenError):
        loser.blacklist()


def _refresh_in_own_connection(raw: str, start: Barrier) -> int:
    try:
        start.wait()
        return APIClient().post("/api/v1/auth/token/refresh/", {"refresh": raw}).status_code
    finally:
        connection.close()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_refreshes_of_one_token_yield_exactly_one_pair() -> None:
    raw = str(RefreshToken.for_user(cast(User, UserFactory())))
    start = Barrier(CONCURRENT_USES)
    with ThreadPoolExecutor(max_workers=CONCURRENT_USES) as pool:
        codes = list(
            pool.map(_refresh_in_own_connection, [raw] * CONCURRENT_USES, [start] * CONCURRENT_USES)
        )
    assert sorted(codes) == [200] + [401] * (CONCURRENT_USES - 1)
