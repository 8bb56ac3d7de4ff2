"""Risk tests need the shipped rules model; transactional tests flush it, so put it back."""

from typing import Any

import pytest

from learners.models import RiskModel
from learners.risk.model import RULES_PARAMETERS


@pytest.fixture(autouse=True)
def shipped_rules_model(request: pytest.FixtureRequest) -> Any:
    marker = request.node.get_closest_marker("django_db")
    if marker is None:
        return None
    request.getfixturevalue("transactional_db" if marker.kwargs.get("transaction") else "db")
    model, _ = RiskModel.objects.get_or_create(
        is_active=True, defaults={"version": 1, "kind": "rules", "parameters": RULES_PARAMETERS}
    )
    return model
