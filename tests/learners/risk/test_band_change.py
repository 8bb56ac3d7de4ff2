"""The learner's last change of band (``risk_band_previous``, ``risk_band_changed_at``): kept by
the rescore's current-risk UPDATE, filled once from the history by a migration, and read by
"since yesterday" and "high since" in a constant number of queries."""

import importlib
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any, cast

import pytest
from django.db import connection

from learners.analytics_selectors import (
    band_change_ids,
    band_change_rows,
    cohort_day_counts,
    needing_attention,
    needing_attention_ids,
)
from learners.cache import data_version
from learners.models import Cohort, Learner, RiskAssessment, RiskModel
from learners.risk.services import _update_current_risk, learners_rescore
from tests.factories import CohortFactory, LearnerFactory, UserFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)
FILL = importlib.import_module("learners.migrations.0025_risk_band_change")


def _score(learner: Learner, as_of: datetime, band: str, score: float = 0.5) -> None:
    """What a rescore writes for one learner: its current-risk UPDATE, with a stand-in score."""
    _update_current_risk([(learner.pk, score, band, as_of, 0.1)], fresh_since=as_of)


def _change(learner: Learner) -> tuple[str, str, datetime | None]:
    learner.refresh_from_db()
    return learner.risk_band, learner.risk_band_previous, learner.risk_band_changed_at


def _learner(**extra: Any) -> Learner:
    return cast(Learner, LearnerFactory(enrolled_at=NOW - timedelta(days=30), **extra))


def test_the_rescore_keeps_the_last_change_of_band() -> None:
    climbing, falling, new = _learner(), _learner(), _learner()
    t1, t2, t3 = NOW - timedelta(days=2), NOW - timedelta(days=1), NOW
    for learner, bands in (
        (climbing, ("low", "high", "high")),
        (falling, ("high", "high", "medium")),
    ):
        for when, band in zip((t1, t2, t3), bands, strict=True):
            _score(learner, when, band)
    _score(new, t3, "high")
    assert _change(climbing) == ("high", "low", t2)
    assert _change(falling) == ("medium", "high", t3)
    assert _change(new) == ("high", "", t3)


def test_a_backfill_leaves_the_last_change_as_it_is() -> None:
    learner = _learner()
    _score(learner, NOW, "high")
    _score(learner, NOW - timedelta(days=3), "low")
    assert _change(learner) == ("high", "", NOW)


def _history(learner: Learner, model: RiskModel, *bands: tuple[int, str]) -> None:
    """Assessments ``hours`` before now with ``band``; the last one is current."""
    for hours, band in bands:
        RiskAssessment.objects.create(
            learner=learner,
            model=model,
            as_of=NOW - timedelta(hours=hours),
            score=0.5,
            band=band,
            factors=[],
            features={},
            computed_at=NOW,
        )
    Learner.objects.filter(pk=learner.pk).update(
        risk_band=bands[-1][1], risk_scored_at=NOW - timedelta(hours=bands[-1][0])
    )


def test_the_migration_fills_the_last_change_from_the_history(rules_model: RiskModel) -> None:
    climbing, falling, new, unscored = _learner(), _learner(), _learner(), _learner()
    _history(climbing, rules_model, (72, "low"), (48, "high"), (24, "high"))
    _history(falling, rules_model, (72, "high"), (48, "high"), (1, "medium"))
    _history(new, rules_model, (5, "high"))
    with connection.cursor() as cursor:
        FILL.fill(None, SimpleNamespace(execute=cursor.execute))
    assert _change(climbing) == ("high", "low", NOW - timedelta(hours=48))
    assert _change(falling) == ("medium", "high", NOW - timedelta(hours=1))
    assert _change(new) == ("high", "", NOW - timedelta(hours=5))
    assert _change(unscored) == ("", "", None)


def test_since_yesterday_reads_the_last_change_in_the_window() -> None:
    since = NOW - timedelta(hours=24)
    newly, first, recovered, still, long_ago = (_learner() for _ in range(5))
    _score(newly, NOW - timedelta(days=2), "medium")
    _score(newly, NOW - timedelta(hours=3), "high", 0.9)
    _score(first, NOW - timedelta(hours=2), "high", 0.8)
    _score(recovered, NOW - timedelta(days=2), "high")
    _score(recovered, NOW - timedelta(hours=3), "low", 0.2)
    _score(still, NOW - timedelta(days=2), "high")
    _score(still, NOW - timedelta(hours=3), "high")
    _score(long_ago, NOW - timedelta(hours=25), "high")
    finished = _learner(status="withdrawn", finished_at=NOW - timedelta(days=1))
    _score(finished, NOW - timedelta(hours=3), "high")
    admin = UserFactory(role="admin")
    picked = band_change_ids(actor=admin, since=since, limit=10)
    assert (picked["became_high"], picked["recovered"]) == (2, 1)
    found = band_change_rows(actor=admin, since=since, picked=picked)
    assert [(row.pk, row.band_before) for row in found["became_high"]] == [
        (newly.pk, "medium"),
        (first.pk, None),
    ]
    assert [(row.pk, row.band_before, row.band_now) for row in found["recovered"]] == [
        (recovered.pk, "high", "low")
    ]


@pytest.mark.parametrize("extra", [0, 20])
def test_band_changes_and_attention_take_the_same_queries_whatever_the_data(
    extra: int, django_assert_num_queries: Any
) -> None:
    for _ in range(1 + extra):
        learner = _learner()
        _score(learner, NOW - timedelta(days=2), "low")
        _score(learner, NOW - timedelta(hours=2), "high", 0.9)
    admin = UserFactory(role="admin")
    since = NOW - timedelta(hours=24)
    with django_assert_num_queries(3):
        picked = band_change_ids(actor=admin, since=since, limit=10)
    with django_assert_num_queries(1):
        band_change_rows(actor=admin, since=since, picked=picked)
    with django_assert_num_queries(1):
        learner_ids = needing_attention_ids(actor=admin, now=NOW, limit=10)
    with django_assert_num_queries(2):
        rows = needing_attention(actor=admin, now=NOW, learner_ids=learner_ids)
    assert {row["high_since"] for row in rows} == {NOW - timedelta(hours=2)}


def test_a_cohort_created_during_the_daily_counts_gets_its_row() -> None:
    """The snapshot task's queries are not one snapshot of the database: a cohort (with a
    learner) created after the first query must not fail the later ones."""
    CohortFactory()
    created: list[Cohort] = []
    armed = [True]

    def create_after_the_cohorts_query(execute: Any, sql: str, *args: Any) -> Any:
        result = execute(sql, *args)
        if armed[0] and "learners_cohort" in sql and "learners_learner" not in sql:
            armed[0] = False
            created.append(CohortFactory())
            LearnerFactory(cohort=created[0], enrolled_at=NOW - timedelta(days=1))
        return result

    with connection.execute_wrapper(create_after_the_cohorts_query):
        rows = cohort_day_counts(start=NOW - timedelta(days=1), end=NOW, as_of=NOW)
    late = next(row for row in rows if row["cohort_id"] == created[0].pk)
    assert (late["learners"], late["studying"], late["unscored"]) == (1, 1, 1)
    assert len(rows) == 2


def test_a_rescore_replaces_the_data_version() -> None:
    _learner()
    before = data_version()
    learners_rescore(as_of=NOW)
    assert data_version() != before
