"""Risk tests need the shipped rules model; transactional tests flush it, so put it back."""

from typing import Any

import pytest


@pytest.fixture(autouse=True)
def shipped_rules_model(request: pytest.FixtureRequest) -> Any:
    if request.node.get_closest_marker("django_db") is None:
        return None
    return request.getfixturevalue("rules_model")
