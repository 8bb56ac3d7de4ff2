"""Every analytics selector: figures, scope, caching and query counts."""

from datetime import timedelta
from typing import Any

import pytest
from django.core.cache import cache

from analytics import cache as analytics_cache
from analytics import selectors
from analytics.models import DailySnapshot
from analytics.services import snapshots_write
from learners.assignments import cohort_assignments_set
from learners.contracts import data_version
from learners.models import CohortAssignment, RiskAlert, RiskFeedback
from learners.risk.feedback import risk_feedback_create
from tests.analytics.conftest import MARKER, NOW, assess
from tests.factories import LearnerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    cache.clear()


def _high(world: dict[str, Any], cohort: Any = None, *, score: float = 0.9, **kwargs: Any) -> Any:
    learner = LearnerFactory(
        cohort=cohort or world["cohort"], enrolled_at=world["enrolled"], **kwargs
    )
    assess(learner, world["model"], NOW - timedelta(days=3), "low", 0.2)
    assess(learner, world["model"], NOW - timedelta(days=2), "high", score)
    assess(learner, world["model"], NOW - timedelta(hours=1), "high", score, current=True)
    return learner


def test_overview_counts_now_and_7_days_ago(world: dict[str, Any]) -> None:
    week_ago = (NOW - timedelta(days=7)).date()
    snapshots_write(week_ago, now=NOW - timedelta(days=7))
    learner = _high(world)
    _high(world, world["other"])
    RiskAlert.objects.create(learner=learner, score=0.9, as_of=NOW)
    snapshots_write(NOW.date(), now=NOW)
    overview = selectors.overview(actor=world["admin"], now=NOW)
    assert overview.learners_studying.value == 2
    assert overview.learners_studying.previous == 0
    assert overview.high_risk == selectors.Kpi(
        value=2, previous=0, change=2, reference_day=week_ago
    )
    assert overview.alerts_waiting.value == 1
    month = NOW.date().replace(day=1)
    assert overview.nudges_sent == selectors.Kpi(
        value=0, previous=None, change=None, period_start=month
    )
    assert overview.re_engagement_rate.value is None  # nothing sent: no rate
    assert overview.llm_cost_month.value == 0


def test_overview_without_a_snapshot_7_days_ago_has_no_change(world: dict[str, Any]) -> None:
    _high(world)
    snapshots_write(NOW.date(), now=NOW)
    overview = selectors.overview(actor=world["admin"], now=NOW)
    assert (overview.high_risk.previous, overview.high_risk.change) == (None, None)
    assert overview.high_risk.reference_day == (NOW - timedelta(days=7)).date()


def test_the_7_day_change_compares_only_cohorts_present_on_both_days(
    world: dict[str, Any],
) -> None:
    """A cohort with a row today but none 7 days ago (created or backfilled since) adds
    nothing to the change; "previous" is the row of the same cohorts 7 days before."""
    week_ago = (NOW - timedelta(days=7)).date()
    _high(world)
    snapshots_write(week_ago, now=NOW - timedelta(days=7))
    DailySnapshot.objects.filter(cohort=world["other"], day=week_ago).delete()
    _high(world, world["other"])
    _high(world, world["other"])
    snapshots_write(NOW.date(), now=NOW)
    overview = selectors.overview(actor=world["admin"], now=NOW)
    assert overview.high_risk.value == 3  # live, every cohort
    assert (overview.high_risk.previous, overview.high_risk.change) == (0, 1)  # Alpha only


def test_a_coach_counts_only_their_cohorts(world: dict[str, Any]) -> None:
    _high(world)
    _high(world, world["other"])
    RiskAlert.objects.create(learner=_high(world, world["other"]), score=0.9, as_of=NOW)
    overview = selectors.overview(actor=world["coach"], now=NOW)
    assert (overview.high_risk.value, overview.alerts_waiting.value) == (1, 0)
    assert [c.name for c in selectors.cohort_distribution(actor=world["coach"], now=NOW)] == [
        "Alpha cohort"
    ]
    assert selectors.overview(actor=world["outsider"], now=NOW).high_risk.value == 0


def test_cached_figures_change_within_the_ttl(world: dict[str, Any], settings: Any) -> None:
    """Served from the cache within one slot of ANALYTICS_CACHE_SECONDS, recomputed after."""
    settings.ANALYTICS_CACHE_SECONDS = 60
    assert selectors.overview(actor=world["admin"], now=NOW).high_risk.value == 0
    _high(world)
    assert selectors.overview(actor=world["admin"], now=NOW).high_risk.value == 0
    later = NOW + timedelta(seconds=60)
    assert selectors.overview(actor=world["admin"], now=later).high_risk.value == 1


def test_a_snapshot_write_makes_cached_trends_stale_at_once(world: dict[str, Any]) -> None:
    assert selectors.risk_trend(actor=world["admin"], now=NOW)[-1].high is None
    _high(world)
    snapshots_write(now=NOW)
    today = selectors.risk_trend(actor=world["admin"], now=NOW)[-1]
    assert (today.day, today.high) == (NOW.date(), 1)


def test_the_cache_keeps_callers_apart(world: dict[str, Any]) -> None:
    _high(world, world["other"])
    assert selectors.overview(actor=world["admin"], now=NOW).high_risk.value == 1
    assert selectors.overview(actor=world["coach"], now=NOW).high_risk.value == 0


def test_no_cache_when_the_ttl_is_zero(world: dict[str, Any], settings: Any) -> None:
    settings.ANALYTICS_CACHE_SECONDS = 0
    assert selectors.overview(actor=world["admin"], now=NOW).high_risk.value == 0
    _high(world)
    assert selectors.overview(actor=world["admin"], now=NOW).high_risk.value == 1


def test_trends_sum_the_callers_cohorts_per_day(world: dict[str, Any]) -> None:
    _high(world)
    _high(world, world["other"])
    for days_ago in (40, 2, 1, 0):
        snapshots_write((NOW - timedelta(days=days_ago)).date(), now=NOW)
    engagement = selectors.engagement_trend(actor=world["admin"], days=30, now=NOW)
    # Every day of the window, oldest first; days without a snapshot are gaps, not skipped.
    assert [row.day for row in engagement] == [
        (NOW - timedelta(days=d)).date() for d in range(29, -1, -1)
    ]
    assert [row.day for row in engagement if row.events_total is not None] == [
        (NOW - timedelta(days=d)).date() for d in (2, 1, 0)
    ]
    assert engagement[0].active_learners is None
    assert set(engagement[0].events.values()) == {None}
    assert set(engagement[-1].events) >= {"login", "forum_post"}
    risk = selectors.risk_trend(actor=world["admin"], days=4, now=NOW)
    assert [(row.high, row.studying) for row in risk] == [(None, None), (2, 2), (2, 2), (2, 2)]
    coach = selectors.risk_trend(actor=world["coach"], days=2, now=NOW)
    assert [row.high for row in coach] == [1, 1]


def test_trends_take_one_query_whatever_the_days(
    world: dict[str, Any], django_assert_num_queries: Any, settings: Any
) -> None:
    settings.ANALYTICS_CACHE_SECONDS = 0
    for days_ago in range(5):
        snapshots_write((NOW - timedelta(days=days_ago)).date(), now=NOW)
    with django_assert_num_queries(1):
        selectors.engagement_trend(actor=world["admin"], days=30, now=NOW)
    with django_assert_num_queries(2):  # the coach's cohort ids, then the sums
        selectors.risk_trend(actor=world["coach"], days=365, now=NOW)


def test_caseloads_name_the_coaches(world: dict[str, Any]) -> None:
    learner = _high(world)
    _high(world)
    RiskFeedback.objects.create(learner=learner, kind="acknowledged", score_at_feedback=0.9)
    [load] = selectors.caseloads(actor=world["admin"], now=NOW)
    assert load.coach_name == "Cora Coach"
    assert (load.cohorts, load.learners, load.high_risk, load.high_risk_without_action) == (
        1,
        2,
        2,
        1,
    )
    assert selectors.caseloads(actor=world["outsider"], now=NOW) == ()


def test_needing_attention_lists_unmarked_high_risk_learners(world: dict[str, Any]) -> None:
    top = _high(world, score=0.95, name=f"Ann {MARKER}")
    _high(world, score=0.8)
    marked = _high(world, score=0.99)
    RiskFeedback.objects.create(learner=marked, kind="acknowledged", score_at_feedback=0.9)
    _high(world, world["other"], score=0.97)
    rows = selectors.needing_attention(actor=world["coach"], now=NOW)
    assert [row.score for row in rows] == [0.95, 0.8]
    first = rows[0]
    assert first.learner_id == top.pk
    assert first.label == f"Ann {MARKER}"
    assert first.cohort_name == "Alpha cohort"
    assert first.top_factor.startswith("No activity for 12 days")
    assert first.high_since == NOW - timedelta(days=2)
    analyst = selectors.needing_attention(actor=world["analyst"], now=NOW)
    assert len(analyst) == 3
    assert all(row.label.startswith("Learner ") and MARKER not in row.label for row in analyst)
    assert f"Learner {str(top.pk)[-8:]}" in [row.label for row in analyst]


def test_needing_attention_takes_the_same_queries_whatever_the_data(
    world: dict[str, Any], django_assert_num_queries: Any, settings: Any
) -> None:
    settings.ANALYTICS_CACHE_SECONDS = 0
    _high(world)
    with django_assert_num_queries(3):
        selectors.needing_attention(actor=world["admin"], now=NOW)
    for _ in range(12):
        _high(world)
    with django_assert_num_queries(3):
        selectors.needing_attention(actor=world["admin"], now=NOW)


def test_last_24_hours_finds_new_high_risk_and_recovered(world: dict[str, Any]) -> None:
    model = world["model"]
    newly = LearnerFactory(cohort=world["cohort"], enrolled_at=world["enrolled"])
    assess(newly, model, NOW - timedelta(days=2), "medium", 0.5)
    assess(newly, model, NOW - timedelta(hours=3), "high", 0.9, current=True)
    first_scored = LearnerFactory(cohort=world["cohort"], enrolled_at=world["enrolled"])
    assess(first_scored, model, NOW - timedelta(hours=2), "high", 0.8, current=True)
    recovered = LearnerFactory(cohort=world["cohort"], enrolled_at=world["enrolled"])
    assess(recovered, model, NOW - timedelta(days=2), "high", 0.9)
    assess(recovered, model, NOW - timedelta(hours=3), "low", 0.2, current=True)
    still = LearnerFactory(cohort=world["cohort"], enrolled_at=world["enrolled"])
    assess(still, model, NOW - timedelta(days=2), "high", 0.9)
    assess(still, model, NOW - timedelta(hours=3), "high", 0.9, current=True)
    elsewhere = LearnerFactory(cohort=world["other"], enrolled_at=world["enrolled"])
    assess(elsewhere, model, NOW - timedelta(hours=3), "high", 0.9, current=True)
    changes = selectors.last_24_hours(actor=world["coach"], now=NOW)
    assert (changes.became_high, changes.recovered) == (2, 1)
    assert [(row.learner_id, row.band_before) for row in changes.became_high_rows] == [
        (newly.pk, "medium"),
        (first_scored.pk, None),
    ]
    [back] = changes.recovered_rows
    assert (back.learner_id, back.band_before, back.band_now) == (recovered.pk, "high", "low")
    assert selectors.last_24_hours(actor=world["admin"], now=NOW).became_high == 3


def test_cohort_cards(world: dict[str, Any]) -> None:
    _high(world)
    snapshots_write((NOW - timedelta(days=1)).date(), now=NOW)
    snapshots_write(NOW.date(), now=NOW)
    cards = selectors.cohort_cards(actor=world["admin"], now=NOW)
    alpha = next(card for card in cards if card.summary.name == "Alpha cohort")
    assert alpha.coaches == ("Cora Coach",)
    assert alpha.summary.high_risk == 1
    assert len(alpha.high_risk_trend) == selectors.TREND_DAYS_DEFAULT
    assert alpha.high_risk_trend[-3:] == (
        (NOW.date() - timedelta(days=2), None),
        (NOW.date() - timedelta(days=1), 1),
        (NOW.date(), 1),
    )
    assert [card.summary.name for card in selectors.cohort_cards(actor=world["coach"])] == [
        "Alpha cohort"
    ]
    assert DailySnapshot.objects.count() == 4


@pytest.mark.parametrize("extra", [0, 10])
def test_changes_and_cohort_cards_take_the_same_queries_whatever_the_data(
    world: dict[str, Any], django_assert_num_queries: Any, settings: Any, extra: int
) -> None:
    settings.ANALYTICS_CACHE_SECONDS = 0
    for _ in range(1 + extra):
        _high(world)
        _high(world, world["other"])
        newly = LearnerFactory(cohort=world["cohort"], enrolled_at=world["enrolled"])
        assess(newly, world["model"], NOW - timedelta(days=2), "low", 0.2)
        assess(newly, world["model"], NOW - timedelta(hours=1), "high", 0.9, current=True)
    snapshots_write(NOW.date(), now=NOW)
    with django_assert_num_queries(4):  # two counts, the two lists' ids, their rows
        selectors.last_24_hours(actor=world["admin"], now=NOW)
    with django_assert_num_queries(4):  # summaries, coaches, their names, the snapshots
        selectors.cohort_cards(actor=world["admin"], now=NOW)


def test_an_acknowledged_learner_leaves_the_figures_at_once(
    world: dict[str, Any], settings: Any
) -> None:
    """A coach's mark replaces the learners' data version: no cached figure outlives it."""
    settings.ANALYTICS_CACHE_SECONDS = 600
    learner = _high(world)
    [before] = selectors.caseloads(actor=world["admin"], now=NOW)
    assert before.high_risk_without_action == 1
    assert [row.learner_id for row in selectors.needing_attention(actor=world["coach"], now=NOW)]
    risk_feedback_create(actor=world["coach"], learner=learner, kind="acknowledged")
    assert selectors.needing_attention(actor=world["coach"], now=NOW) == ()
    [after] = selectors.caseloads(actor=world["admin"], now=NOW)
    assert after.high_risk_without_action == 0


def test_the_lists_cache_which_learners_and_read_their_rows_per_request(
    world: dict[str, Any],
    settings: Any,
    django_assert_num_queries: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The costly picks are cached like figures; the rows come from the database each time,
    so no name sits in the cache and a learner gone since is gone from the list."""
    settings.ANALYTICS_CACHE_SECONDS = 600
    stored: dict[str, Any] = {}
    real_set = cache.set

    def recording_set(key: str, value: Any, *args: Any, **kwargs: Any) -> Any:
        stored[key] = value
        return real_set(key, value, *args, **kwargs)

    monkeypatch.setattr(analytics_cache.cache, "set", recording_set)
    kept = _high(world, name=f"Kept {MARKER}")
    gone = _high(world, name=f"Gone {MARKER}", score=0.95)
    admin = world["admin"]
    newly = LearnerFactory(cohort=world["cohort"], enrolled_at=world["enrolled"])
    assess(newly, world["model"], NOW - timedelta(days=2), "low", 0.2)
    assess(newly, world["model"], NOW - timedelta(hours=1), "high", 0.5, current=True)
    assert selectors.last_24_hours(actor=admin, now=NOW).became_high == 1
    assert [row.learner_id for row in selectors.needing_attention(actor=admin, now=NOW)] == [
        gone.pk,
        kept.pk,
        newly.pk,
    ]
    with django_assert_num_queries(2):  # the rows and their assessments; the picks are cached
        selectors.needing_attention(actor=admin, now=NOW)
    with django_assert_num_queries(1):
        selectors.last_24_hours(actor=admin, now=NOW)
    assert stored and all(MARKER not in repr(value) for value in stored.values())
    assert any(":attention-ids:" in key for key in stored)
    type(gone).objects.filter(pk=gone.pk).delete()  # no service: the cached ids still name it
    assert [row.learner_id for row in selectors.needing_attention(actor=admin, now=NOW)] == [
        kept.pk,
        newly.pk,
    ]


def test_a_coach_removed_from_a_cohort_stops_seeing_it_at_once(
    world: dict[str, Any], settings: Any
) -> None:
    settings.ANALYTICS_CACHE_SECONDS = 600
    _high(world, name=f"Ann {MARKER}")
    coach = world["coach"]
    assert selectors.overview(actor=coach, now=NOW).high_risk.value == 1
    assert [c.name for c in selectors.cohort_distribution(actor=coach, now=NOW)] == ["Alpha cohort"]
    CohortAssignment.objects.filter(user=coach).delete()  # no service: only the scope changes
    assert selectors.overview(actor=coach, now=NOW).high_risk.value == 0
    assert selectors.cohort_distribution(actor=coach, now=NOW) == ()
    assert selectors.needing_attention(actor=coach, now=NOW) == ()


def test_cohort_assignment_changes_replace_the_data_version(world: dict[str, Any]) -> None:
    before = data_version()
    cohort_assignments_set(user=world["coach"], cohort_ids=[world["other"].pk])
    assert data_version() != before
