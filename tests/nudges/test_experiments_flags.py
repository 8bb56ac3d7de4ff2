"""The nudges feature flags: on by default (the migration), off by the switch, limited to
cohorts, and switched through one audited service (also from the admin)."""

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from engagement.errors import ValidationFailed
from engagement.models import AuditEvent
from nudges.flags import (
    AUTO_APPROVAL,
    AUTOMATIONS,
    FLAGS,
    LLM_GENERATION,
    cohorts_where,
    flag_cohorts,
    flag_enabled,
    flag_update,
)
from nudges.models import FeatureCohortLimit, FeatureFlag
from tests.factories import CohortFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_every_flag_is_on_everywhere_by_default() -> None:
    cohort = CohortFactory()
    for name in (LLM_GENERATION, AUTO_APPROVAL, AUTOMATIONS):
        assert flag_enabled(name)
        assert flag_enabled(name, cohort.pk)
        assert flag_cohorts(name) is None


def test_switched_off_holds_nowhere() -> None:
    cohort = CohortFactory()
    flag_update(name=AUTOMATIONS, active=False, cohort_ids=[], actor=None)
    assert not flag_enabled(AUTOMATIONS)
    assert not flag_enabled(AUTOMATIONS, cohort.pk)
    assert flag_cohorts(AUTOMATIONS) == frozenset()
    assert flag_enabled(LLM_GENERATION, cohort.pk)


def test_limited_to_cohorts_holds_only_there() -> None:
    pilot, other = CohortFactory(), CohortFactory()
    flag_update(name=LLM_GENERATION, active=True, cohort_ids=[pilot.pk], actor=None)
    assert flag_enabled(LLM_GENERATION, pilot.pk)
    assert not flag_enabled(LLM_GENERATION, other.pk)
    assert not flag_enabled(LLM_GENERATION)
    assert flag_cohorts(LLM_GENERATION) == {pilot.pk}


def test_cohorts_where_answers_for_many_cohorts_in_the_same_queries_as_for_one() -> None:
    pilot, other, third = CohortFactory(), CohortFactory(), CohortFactory()
    everywhere = [pilot.pk, other.pk, third.pk]
    flag_update(name=LLM_GENERATION, active=True, cohort_ids=[pilot.pk, third.pk], actor=None)
    cohorts_where(LLM_GENERATION, [])  # waffle caches the switch on its first read
    with CaptureQueriesContext(connection) as one:
        assert cohorts_where(LLM_GENERATION, [other.pk]) == frozenset()
    with CaptureQueriesContext(connection) as three:
        assert cohorts_where(LLM_GENERATION, everywhere) == {pilot.pk, third.pk}
    assert len(three) == len(one)
    assert cohorts_where(AUTO_APPROVAL, everywhere) == set(everywhere)
    flag_update(name=AUTOMATIONS, active=False, cohort_ids=[], actor=None)
    assert cohorts_where(AUTOMATIONS, everywhere) == frozenset()

    flag_update(name=LLM_GENERATION, active=True, cohort_ids=[], actor=None)
    assert flag_enabled(LLM_GENERATION, other.pk)
    assert not FeatureCohortLimit.objects.exists()


def test_switched_off_wins_over_cohorts() -> None:
    pilot = CohortFactory()
    flag_update(name=AUTO_APPROVAL, active=False, cohort_ids=[pilot.pk], actor=None)
    assert not flag_enabled(AUTO_APPROVAL, pilot.pk)


def test_answers_in_at_most_two_queries(django_assert_max_num_queries: Any) -> None:
    cohort = CohortFactory()
    flag_update(name=AUTOMATIONS, active=True, cohort_ids=[cohort.pk], actor=None)
    with django_assert_max_num_queries(2):
        flag_enabled(AUTOMATIONS, cohort.pk)


def test_update_is_audited_and_refuses_unknown_flags() -> None:
    admin = UserFactory()
    cohort = CohortFactory()
    flag_update(name=AUTOMATIONS, active=False, cohort_ids=[cohort.pk], actor=admin)
    event = AuditEvent.objects.get(action="nudges.flag_update")
    assert event.target_id == AUTOMATIONS
    assert event.changes == {"active": False, "cohorts": str(cohort.pk)}
    with pytest.raises(ValidationFailed) as raised:
        flag_update(name="nudges_everything", active=True, cohort_ids=[], actor=admin)
    assert "name" in raised.value.detail


def test_admin_switches_a_flag_and_limits_it(
    client: Any, django_capture_on_commit_callbacks: Any
) -> None:
    admin = UserFactory()
    pilot = CohortFactory()
    client.force_login(admin)
    listing = client.get(reverse("admin:nudges_featureflag_changelist"))
    assert listing.status_code == 200
    for name in FLAGS:
        assert name in listing.content.decode()

    flag = FeatureFlag.objects.get(name=AUTO_APPROVAL)
    url = reverse("admin:nudges_featureflag_change", args=[flag.pk])
    assert client.get(url).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"active": "on", "cohorts": [str(pilot.pk)]})
    assert response.status_code == 302
    assert flag_cohorts(AUTO_APPROVAL) == {pilot.pk}
    assert AuditEvent.objects.filter(action="nudges.flag_update", actor_id=str(admin.pk)).exists()

    # Waffle forgets its cached switch once the change is committed.
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {"cohorts": []})
    assert not flag_enabled(AUTO_APPROVAL, pilot.pk)
    assert flag_cohorts(AUTO_APPROVAL) == frozenset()
