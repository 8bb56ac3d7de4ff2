from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from tests.factories import CohortFactory, LearnerFactory


def _credentials(output: str) -> dict[str, str]:
    rows = [line.split() for line in output.splitlines()]
    return {row[2]: row[4] for row in rows}


@pytest.mark.django_db
def test_demo_accounts_print_working_credentials_and_the_coach_is_scoped(
    settings: Any,
) -> None:
    settings.DEBUG = True
    old, recent = CohortFactory(starts_on="2025-01-01"), CohortFactory(starts_on="2026-09-01")
    LearnerFactory(cohort=old)
    LearnerFactory(cohort=recent)
    out = StringIO()
    call_command("demo_accounts", stdout=out)
    credentials = _credentials(out.getvalue())
    assert set(credentials) == {"demo-admin", "demo-coach", "demo-analyst"}
    coach = authenticate(username="demo-coach", password=credentials["demo-coach"])
    assert coach is not None
    client = APIClient()
    client.force_authenticate(coach)
    assert client.get("/api/v1/learners/").data["count"] == 2
    again = StringIO()
    call_command("demo_accounts", stdout=again)
    new_password = _credentials(again.getvalue())["demo-admin"]
    assert new_password != credentials["demo-admin"]
    assert authenticate(username="demo-admin", password=new_password).is_superuser


@pytest.mark.django_db
def test_demo_accounts_refuse_with_debug_off(settings: Any) -> None:
    settings.DEBUG = False
    out = StringIO()
    with pytest.raises(CommandError, match=r"local use only .* DEBUG off"):
        call_command("demo_accounts", stdout=out)
    assert out.getvalue() == ""
    assert not get_user_model().objects.filter(username__startswith="demo-").exists()
